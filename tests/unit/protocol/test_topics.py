import pytest

from protocol import ParsedTopic, TopicKind, Topics, UnknownTopic


def test_builds_every_topic_under_the_prefix() -> None:
    topics = Topics("lab/v1")
    assert topics.status("rig-7") == "lab/v1/rigs/rig-7/status"
    assert topics.records("rig-7") == "lab/v1/rigs/rig-7/records"
    assert topics.commands("rig-7") == "lab/v1/rigs/rig-7/commands"
    assert topics.replies("rig-7") == "lab/v1/rigs/rig-7/replies"
    assert topics.acks("rig-7") == "lab/v1/rigs/rig-7/acks"
    assert topics.results("s-1") == "lab/v1/sessions/s-1/results"
    assert topics.all_rigs(TopicKind.RECORDS) == "lab/v1/rigs/+/records"


def test_default_prefix_is_vru_v1() -> None:
    assert Topics().records("r1") == "vru/v1/rigs/r1/records"


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("vru/v1/rigs/r1/records", ParsedTopic(TopicKind.RECORDS, rig_id="r1")),
        ("vru/v1/rigs/r1/status", ParsedTopic(TopicKind.STATUS, rig_id="r1")),
        ("vru/v1/rigs/r1/replies", ParsedTopic(TopicKind.REPLIES, rig_id="r1")),
        ("vru/v1/rigs/r1/acks", ParsedTopic(TopicKind.ACKS, rig_id="r1")),
        ("vru/v1/sessions/abc/results", ParsedTopic(TopicKind.RESULTS, session_id="abc")),
    ],
)
def test_parse_inverts_the_builders(topic: str, expected: ParsedTopic) -> None:
    assert Topics().parse(topic) == expected


@pytest.mark.parametrize(
    "topic",
    ["other/v1/rigs/r1/records", "vru/v1/rigs/r1/unknown", "vru/v1/rigs/r1", "vru/v1/x/r1/records"],
)
def test_parse_refuses_topics_outside_the_contract(topic: str) -> None:
    with pytest.raises(UnknownTopic):
        Topics().parse(topic)


@pytest.mark.parametrize("rig_id", ["", "a/b", "a+b", "#", "-lead", "x" * 129])
def test_ids_that_would_break_topic_levels_are_refused(rig_id: str) -> None:
    with pytest.raises(ValueError, match="rig id"):
        Topics().records(rig_id)


@pytest.mark.parametrize("prefix", ["", "/abs", "trail/", "a/+/b", "a/#"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        Topics(prefix)
