import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import orjson

from protocol import DetectionRecord, RecordBatch, encode
from protocol.schema import MESSAGE_SCHEMAS


def test_cli_writes_one_schema_per_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "protocol.schema", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(f"{name}.schema.json" for name in MESSAGE_SCHEMAS)


def test_exported_schema_accepts_real_batches_and_rejects_bad_ones(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "protocol.schema", str(tmp_path)], check=True)
    schema = json.loads((tmp_path / "record_batch.schema.json").read_text())
    record = DetectionRecord(
        seq=4,
        channel="cam",
        source="can",
        t_mono_ns=10,
        t_wall_ns=11,
        clock="kernel_realtime",
        payload={"raw_hex": "0a0b"},
    )
    good = orjson.loads(encode(RecordBatch(rig_id="r1", stream="s1", records=[record])))
    jsonschema.validate(good, schema)
    bad = dict(good, records=[dict(good["records"][0], t_mono_ns="late")])
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid(bad)


def test_cli_without_a_directory_prints_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "protocol.schema"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "usage" in result.stderr


def test_committed_schemas_match_the_models(tmp_path: Path) -> None:
    """docs/schemas is what other languages validate against: it must not drift from the code."""
    committed = Path(__file__).resolve().parents[3] / "docs" / "schemas"
    subprocess.run([sys.executable, "-m", "protocol.schema", str(tmp_path)], check=True)
    for fresh in tmp_path.iterdir():
        assert (committed / fresh.name).read_bytes() == fresh.read_bytes(), (
            f"docs/schemas/{fresh.name} is stale: run python -m protocol.schema docs/schemas"
        )


def test_asyncapi_documents_every_message_and_topic() -> None:
    """docs/asyncapi.yaml names each exported schema and each topic the code builds."""
    import yaml

    from protocol import TopicKind, Topics

    document = yaml.safe_load(
        (Path(__file__).resolve().parents[3] / "docs" / "asyncapi.yaml").read_text()
    )
    referenced = {m["payload"]["$ref"] for m in document["components"]["messages"].values()}
    assert referenced == {f"schemas/{name}.schema.json" for name in MESSAGE_SCHEMAS}
    addresses = {channel["address"] for channel in document["channels"].values()}
    topics = Topics("PFX")
    built = {topics.results("SID")} | {
        getattr(topics, kind.value)("RIG") for kind in TopicKind if kind != TopicKind.RESULTS
    }
    placeholders = {"PFX": "{prefix}", "RIG": "{rig_id}", "SID": "{session_id}"}
    for name, placeholder in placeholders.items():
        built = {address.replace(name, placeholder) for address in built}
    assert addresses == built
