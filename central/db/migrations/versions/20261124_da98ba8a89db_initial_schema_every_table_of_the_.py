"""initial schema: every table of the roadmap plus rigs, tokens and dead letters

Revision ID: da98ba8a89db
Revises: 
Create Date: 2026-11-24 12:25:50.566465
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'da98ba8a89db'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False, comment='first characters, to recognise it'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('dead_letters',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('rig_id', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False, comment='first 64 KiB of the message'),
    sa.Column('payload_size', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters'))
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letters_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letters_rig_id'), ['rig_id'], unique=False)

    op.create_table('projects',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('camera_model', sa.String(length=255), nullable=True),
    sa.Column('camera_view', sa.String(length=64), nullable=True),
    sa.Column('signal_type', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('name', name=op.f('uq_projects_name'))
    )
    op.create_table('rigs',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('spool_depth', sa.Integer(), nullable=True),
    sa.Column('version', sa.String(length=64), nullable=True),
    sa.Column('last_status', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rigs'))
    )
    op.create_table('rig_streams',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('rig_id', sa.String(length=128), nullable=False),
    sa.Column('stream', sa.String(length=128), nullable=False),
    sa.Column('first_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('received_count', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['rig_id'], ['rigs.id'], name=op.f('fk_rig_streams_rig_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rig_streams')),
    sa.UniqueConstraint('rig_id', 'stream', name=op.f('uq_rig_streams_rig_id_stream'))
    )
    op.create_table('videos',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False, comment='original name, for display only'),
    sa.Column('stored_name', sa.String(length=255), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('fps', sa.Float(), nullable=True),
    sa.Column('frame_count', sa.Integer(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('codec', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_videos_project_id'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_videos')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_videos_stored_name'))
    )
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_videos_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_videos_status'), ['status'], unique=False)

    op.create_table('annotation_sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('video_id', sa.String(length=36), nullable=False),
    sa.Column('annotator_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('total_detections', sa.Integer(), nullable=False),
    sa.Column('validated_detections', sa.Integer(), nullable=False),
    sa.Column('current_frame', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_annotation_sessions_video_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotation_sessions'))
    )
    with op.batch_alter_table('annotation_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annotation_sessions_annotator_id'), ['annotator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotation_sessions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotation_sessions_video_id'), ['video_id'], unique=False)

    op.create_table('ground_truth_annotations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('video_id', sa.String(length=36), nullable=False),
    sa.Column('detection_id', sa.String(length=64), nullable=False),
    sa.Column('frame_number', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=False, comment="seconds from the video's start"),
    sa.Column('vru_type', sa.String(length=32), nullable=False),
    sa.Column('bounding_box', sa.JSON(), nullable=False, comment='{x, y, width, height} pixels'),
    sa.Column('occluded', sa.Boolean(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('difficult', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('annotator', sa.String(length=64), nullable=True),
    sa.Column('validated', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_ground_truth_annotations_video_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ground_truth_annotations')),
    sa.UniqueConstraint('video_id', 'frame_number', 'detection_id', name=op.f('uq_ground_truth_annotations_video_id_frame_number_detection_id'))
    )
    with op.batch_alter_table('ground_truth_annotations', schema=None) as batch_op:
        batch_op.create_index('idx_annotation_detection_id', ['detection_id'], unique=False)
        batch_op.create_index('idx_annotation_video_frame', ['video_id', 'frame_number'], unique=False)
        batch_op.create_index('idx_annotation_vru_validated', ['vru_type', 'validated'], unique=False)

    op.create_table('test_sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('video_id', sa.String(length=36), nullable=False),
    sa.Column('rig_id', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('sync_mono_ns', sa.BigInteger(), nullable=True, comment='rig CLOCK_MONOTONIC instant of video time zero'),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('results', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_test_sessions_project_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_test_sessions_video_id'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_sessions'))
    )
    with op.batch_alter_table('test_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_sessions_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_test_sessions_rig_id'), ['rig_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_test_sessions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_test_sessions_video_id'), ['video_id'], unique=False)

    op.create_table('video_project_links',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('video_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('assignment_reason', sa.Text(), nullable=True),
    sa.Column('intelligent_match', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_video_project_links_project_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_video_project_links_video_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_project_links')),
    sa.UniqueConstraint('video_id', 'project_id', name=op.f('uq_video_project_links_video_id_project_id'))
    )
    with op.batch_alter_table('video_project_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_project_links_project_id'), ['project_id'], unique=False)

    op.create_table('detection_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('test_session_id', sa.String(length=36), nullable=True),
    sa.Column('rig_id', sa.String(length=128), nullable=False),
    sa.Column('stream', sa.String(length=128), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('clock', sa.String(length=32), nullable=False),
    sa.Column('t_mono_ns', sa.BigInteger(), nullable=False),
    sa.Column('t_wall_ns', sa.BigInteger(), nullable=False),
    sa.Column('t_video_ms', sa.Float(), nullable=True),
    sa.Column('vru_type', sa.String(length=32), nullable=True),
    sa.Column('bbox', sa.JSON(), nullable=True, comment='[x, y, width, height] pixels'),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('frame_number', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['test_session_id'], ['test_sessions.id'], name=op.f('fk_detection_events_test_session_id'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_detection_events')),
    sa.UniqueConstraint('rig_id', 'stream', 'seq', name=op.f('uq_detection_events_rig_id_stream_seq'))
    )
    with op.batch_alter_table('detection_events', schema=None) as batch_op:
        batch_op.create_index('idx_detection_session_video_time', ['test_session_id', 't_video_ms'], unique=False)

    op.create_table('test_execution_configs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('test_session_id', sa.String(length=36), nullable=False),
    sa.Column('tolerance_ms', sa.Integer(), nullable=False),
    sa.Column('signal_type', sa.String(length=32), nullable=False),
    sa.Column('test_duration', sa.Integer(), nullable=False, comment='seconds'),
    sa.Column('enable_realtime_monitoring', sa.Boolean(), nullable=False),
    sa.Column('max_latency_ms', sa.Integer(), nullable=False),
    sa.Column('min_accuracy', sa.Float(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False, comment='temporal|spatial'),
    sa.Column('iou_threshold', sa.Float(), nullable=False),
    sa.Column('sync_channel', sa.String(length=128), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=True, comment='channel names to arm'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['test_session_id'], ['test_sessions.id'], name=op.f('fk_test_execution_configs_test_session_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_execution_configs')),
    sa.UniqueConstraint('test_session_id', name=op.f('uq_test_execution_configs_test_session_id'))
    )
    op.create_table('detection_comparisons',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('test_session_id', sa.String(length=36), nullable=False),
    sa.Column('ground_truth_id', sa.String(length=36), nullable=True),
    sa.Column('detection_event_id', sa.String(length=36), nullable=True),
    sa.Column('match_type', sa.String(length=8), nullable=False),
    sa.Column('vru_type', sa.String(length=32), nullable=True),
    sa.Column('confidence_score', sa.Float(), nullable=True),
    sa.Column('temporal_difference_ms', sa.Float(), nullable=True),
    sa.Column('spatial_iou', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['detection_event_id'], ['detection_events.id'], name=op.f('fk_detection_comparisons_detection_event_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ground_truth_id'], ['ground_truth_annotations.id'], name=op.f('fk_detection_comparisons_ground_truth_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['test_session_id'], ['test_sessions.id'], name=op.f('fk_detection_comparisons_test_session_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_detection_comparisons'))
    )
    with op.batch_alter_table('detection_comparisons', schema=None) as batch_op:
        batch_op.create_index('idx_comparison_session_match', ['test_session_id', 'match_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_detection_comparisons_detection_event_id'), ['detection_event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_detection_comparisons_ground_truth_id'), ['ground_truth_id'], unique=False)

    op.create_table('latency_measurements',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('test_session_id', sa.String(length=36), nullable=False),
    sa.Column('detection_event_id', sa.String(length=36), nullable=True),
    sa.Column('detection_timestamp', sa.Float(), nullable=False),
    sa.Column('signal_timestamp', sa.Float(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('within_tolerance', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['detection_event_id'], ['detection_events.id'], name=op.f('fk_latency_measurements_detection_event_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['test_session_id'], ['test_sessions.id'], name=op.f('fk_latency_measurements_test_session_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_latency_measurements'))
    )
    with op.batch_alter_table('latency_measurements', schema=None) as batch_op:
        batch_op.create_index('idx_latency_session_timestamp', ['test_session_id', 'detection_timestamp'], unique=False)
        batch_op.create_index(batch_op.f('ix_latency_measurements_detection_event_id'), ['detection_event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('latency_measurements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_latency_measurements_detection_event_id'))
        batch_op.drop_index('idx_latency_session_timestamp')

    op.drop_table('latency_measurements')
    with op.batch_alter_table('detection_comparisons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_detection_comparisons_ground_truth_id'))
        batch_op.drop_index(batch_op.f('ix_detection_comparisons_detection_event_id'))
        batch_op.drop_index('idx_comparison_session_match')

    op.drop_table('detection_comparisons')
    op.drop_table('test_execution_configs')
    with op.batch_alter_table('detection_events', schema=None) as batch_op:
        batch_op.drop_index('idx_detection_session_video_time')

    op.drop_table('detection_events')
    with op.batch_alter_table('video_project_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_project_links_project_id'))

    op.drop_table('video_project_links')
    with op.batch_alter_table('test_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_sessions_video_id'))
        batch_op.drop_index(batch_op.f('ix_test_sessions_status'))
        batch_op.drop_index(batch_op.f('ix_test_sessions_rig_id'))
        batch_op.drop_index(batch_op.f('ix_test_sessions_project_id'))

    op.drop_table('test_sessions')
    with op.batch_alter_table('ground_truth_annotations', schema=None) as batch_op:
        batch_op.drop_index('idx_annotation_vru_validated')
        batch_op.drop_index('idx_annotation_video_frame')
        batch_op.drop_index('idx_annotation_detection_id')

    op.drop_table('ground_truth_annotations')
    with op.batch_alter_table('annotation_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_annotation_sessions_video_id'))
        batch_op.drop_index(batch_op.f('ix_annotation_sessions_status'))
        batch_op.drop_index(batch_op.f('ix_annotation_sessions_annotator_id'))

    op.drop_table('annotation_sessions')
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_videos_status'))
        batch_op.drop_index(batch_op.f('ix_videos_project_id'))

    op.drop_table('videos')
    op.drop_table('rig_streams')
    op.drop_table('rigs')
    op.drop_table('projects')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_rig_id'))
        batch_op.drop_index(batch_op.f('ix_dead_letters_received_at'))

    op.drop_table('dead_letters')
    op.drop_table('api_tokens')
