"""Initial schema: every table of the store.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:31:03.258673
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from grimnir.store.types import PriorityType, UTCDateTime

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("short_name", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("timeline_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
        sa.UniqueConstraint("short_name", name=op.f("uq_stations_short_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=255), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("station_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_audit_log_station_id_stations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(
        op.f("ix_audit_log_station_id_at"), "audit_log", ["station_id", "at"], unique=False
    )
    op.create_index(op.f("ix_audit_log_user_id"), "audit_log", ["user_id"], unique=False)
    op.create_table(
        "clocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_clocks_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clocks")),
        sa.UniqueConstraint("station_id", "name", name=op.f("uq_clocks_station_id_name")),
    )
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("mount", sa.String(length=255), nullable=False),
        sa.Column("connected_at", UTCDateTime(), nullable=False),
        sa.Column("disconnected_at", UTCDateTime(), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_live_sessions_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_live_sessions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_sessions")),
    )
    op.create_index(
        op.f("ix_live_sessions_station_id_connected_at"),
        "live_sessions",
        ["station_id", "connected_at"],
        unique=False,
    )
    op.create_index(op.f("ix_live_sessions_user_id"), "live_sessions", ["user_id"], unique=False)
    op.create_table(
        "media_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=True),
        sa.Column("sample_rate_hz", sa.Integer(), nullable=True),
        sa.Column("channels", sa.Integer(), nullable=True),
        sa.Column("bitrate_kbps", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("artist", sa.String(length=255), nullable=True),
        sa.Column("album", sa.String(length=255), nullable=True),
        sa.Column("album_artist", sa.String(length=255), nullable=True),
        sa.Column("genre", sa.String(length=128), nullable=True),
        sa.Column("mood", sa.String(length=128), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("bpm", sa.Double(), nullable=True),
        sa.Column("isrc", sa.String(length=16), nullable=True),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.Column("composer", sa.String(length=255), nullable=True),
        sa.Column("language", sa.String(length=32), nullable=True),
        sa.Column("track_number", sa.Integer(), nullable=True),
        sa.Column("disc_number", sa.Integer(), nullable=True),
        sa.Column("explicit", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("replaygain_track_gain_db", sa.Double(), nullable=True),
        sa.Column("replaygain_track_peak", sa.Double(), nullable=True),
        sa.Column("replaygain_album_gain_db", sa.Double(), nullable=True),
        sa.Column("replaygain_album_peak", sa.Double(), nullable=True),
        sa.Column("custom_tags", sa.JSON(), nullable=False),
        sa.Column("artwork_path", sa.String(length=1024), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("loudness_lufs", sa.Double(), nullable=True),
        sa.Column("loudness_range_lu", sa.Double(), nullable=True),
        sa.Column("true_peak_dbtp", sa.Double(), nullable=True),
        sa.Column("gain_db", sa.Double(), nullable=True),
        sa.Column("cue_in_ms", sa.Integer(), nullable=False),
        sa.Column("cue_out_ms", sa.Integer(), nullable=True),
        sa.Column("intro_end_ms", sa.Integer(), nullable=True),
        sa.Column("segue_ms", sa.Integer(), nullable=True),
        sa.Column(
            "waveform",
            sa.LargeBinary()
            .with_variant(mysql.LONGBLOB(), "mariadb")
            .with_variant(mysql.LONGBLOB(), "mysql"),
            nullable=True,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "analyzing",
                "ready",
                "failed",
                name=op.f("ck_media_items_state"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("failed_reason", sa.Text(), nullable=True),
        sa.Column("analysis_attempts", sa.Integer(), nullable=False),
        sa.Column("analysis_started_at", UTCDateTime(), nullable=True),
        sa.Column("play_count", sa.Integer(), nullable=False),
        sa.Column("last_played_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("analysis_attempts >= 0", name=op.f("ck_media_items_attempts_nonneg")),
        sa.CheckConstraint("cue_in_ms >= 0", name=op.f("ck_media_items_cue_in_nonneg")),
        sa.CheckConstraint(
            "cue_out_ms > cue_in_ms", name=op.f("ck_media_items_cue_out_after_cue_in")
        ),
        sa.CheckConstraint("duration_ms >= 0", name=op.f("ck_media_items_duration_nonneg")),
        sa.CheckConstraint("play_count >= 0", name=op.f("ck_media_items_play_count_nonneg")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_media_items_size_nonneg")),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_media_items_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_items")),
        sa.UniqueConstraint("station_id", "sha256", name=op.f("uq_media_items_station_id_sha256")),
    )
    op.create_index(
        op.f("ix_media_items_station_id_artist"),
        "media_items",
        ["station_id", "artist"],
        unique=False,
    )
    op.create_index(
        op.f("ix_media_items_station_id_state"),
        "media_items",
        ["station_id", "state"],
        unique=False,
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "manager",
                "dj",
                name=op.f("ck_memberships_role"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_memberships_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint(
            "user_id", "station_id", name=op.f("uq_memberships_user_id_station_id")
        ),
    )
    op.create_index(op.f("ix_memberships_station_id"), "memberships", ["station_id"], unique=False)
    op.create_table(
        "mounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_mounts_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mounts")),
        sa.UniqueConstraint("station_id", "key", name=op.f("uq_mounts_station_id_key")),
    )
    op.create_table(
        "playlists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("shuffle", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_playlists_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playlists")),
        sa.UniqueConstraint("station_id", "name", name=op.f("uq_playlists_station_id_name")),
    )
    op.create_table(
        "priority_sources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("priority", PriorityType(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_at", UTCDateTime(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "priority BETWEEN 0 AND 4", name=op.f("ck_priority_sources_priority_range")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_priority_sources_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_priority_sources")),
    )
    op.create_index(
        op.f("ix_priority_sources_station_id_active"),
        "priority_sources",
        ["station_id", "active"],
        unique=False,
    )
    op.create_table(
        "smart_blocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("target_duration_ms", sa.Integer(), nullable=True),
        sa.Column("tolerance_ms", sa.Integer(), nullable=False),
        sa.Column("fallback_block_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("target_duration_ms > 0", name=op.f("ck_smart_blocks_target_positive")),
        sa.CheckConstraint("tolerance_ms >= 0", name=op.f("ck_smart_blocks_tolerance_nonneg")),
        sa.ForeignKeyConstraint(
            ["fallback_block_id"],
            ["smart_blocks.id"],
            name=op.f("fk_smart_blocks_fallback_block_id_smart_blocks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_smart_blocks_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smart_blocks")),
        sa.UniqueConstraint("station_id", "name", name=op.f("uq_smart_blocks_station_id_name")),
    )
    op.create_index(
        op.f("ix_smart_blocks_fallback_block_id"),
        "smart_blocks",
        ["fallback_block_id"],
        unique=False,
    )
    op.create_table(
        "webstreams",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("urls", sa.JSON(), nullable=False),
        sa.Column("stall_timeout_ms", sa.Integer(), nullable=False),
        sa.Column("grace_ms", sa.Integer(), nullable=False),
        sa.Column("pass_metadata", sa.Boolean(), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("active_url", sa.String(length=2048), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("grace_ms >= 0", name=op.f("ck_webstreams_grace_nonneg")),
        sa.CheckConstraint(
            "stall_timeout_ms > 0", name=op.f("ck_webstreams_stall_timeout_positive")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_webstreams_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webstreams")),
        sa.UniqueConstraint("station_id", "name", name=op.f("uq_webstreams_station_id_name")),
    )
    op.create_table(
        "clock_slots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clock_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("offset_ms", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "smart_block",
                "playlist",
                "hard_item",
                "stopset",
                "webstream",
                "live",
                name=op.f("ck_clock_slots_kind"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "timing",
            sa.Enum(
                "hard",
                "soft",
                name=op.f("ck_clock_slots_timing"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("smart_block_id", sa.Uuid(), nullable=True),
        sa.Column("playlist_id", sa.Uuid(), nullable=True),
        sa.Column("media_id", sa.Uuid(), nullable=True),
        sa.Column("webstream_id", sa.Uuid(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.CheckConstraint("duration_ms > 0", name=op.f("ck_clock_slots_duration_positive")),
        sa.CheckConstraint(
            "offset_ms + duration_ms <= 3600000", name=op.f("ck_clock_slots_within_hour")
        ),
        sa.CheckConstraint("offset_ms >= 0", name=op.f("ck_clock_slots_offset_nonneg")),
        sa.ForeignKeyConstraint(
            ["clock_id"],
            ["clocks.id"],
            name=op.f("fk_clock_slots_clock_id_clocks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media_items.id"],
            name=op.f("fk_clock_slots_media_id_media_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.id"],
            name=op.f("fk_clock_slots_playlist_id_playlists"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["smart_block_id"],
            ["smart_blocks.id"],
            name=op.f("fk_clock_slots_smart_block_id_smart_blocks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["webstream_id"],
            ["webstreams.id"],
            name=op.f("fk_clock_slots_webstream_id_webstreams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_slots")),
        sa.UniqueConstraint("clock_id", "position", name=op.f("uq_clock_slots_clock_id_position")),
    )
    op.create_index(op.f("ix_clock_slots_media_id"), "clock_slots", ["media_id"], unique=False)
    op.create_index(
        op.f("ix_clock_slots_playlist_id"), "clock_slots", ["playlist_id"], unique=False
    )
    op.create_index(
        op.f("ix_clock_slots_smart_block_id"), "clock_slots", ["smart_block_id"], unique=False
    )
    op.create_index(
        op.f("ix_clock_slots_webstream_id"), "clock_slots", ["webstream_id"], unique=False
    )
    op.create_table(
        "outputs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mount_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "icecast",
                "http",
                "hls",
                "recording",
                "file",
                "null",
                name=op.f("ck_outputs_kind"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "format",
            sa.Enum(
                "mp3",
                "aac",
                "opus",
                "vorbis",
                "flac",
                "wav",
                name=op.f("ck_outputs_format"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("bitrate_kbps", sa.Integer(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.CheckConstraint("bitrate_kbps > 0", name=op.f("ck_outputs_bitrate_positive")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_outputs_position_nonneg")),
        sa.ForeignKeyConstraint(
            ["mount_id"], ["mounts.id"], name=op.f("fk_outputs_mount_id_mounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outputs")),
        sa.UniqueConstraint("mount_id", "position", name=op.f("uq_outputs_mount_id_position")),
    )
    op.create_table(
        "playlist_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("playlist_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_playlist_items_position_nonneg")),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media_items.id"],
            name=op.f("fk_playlist_items_media_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.id"],
            name=op.f("fk_playlist_items_playlist_id_playlists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playlist_items")),
        sa.UniqueConstraint(
            "playlist_id", "position", name=op.f("uq_playlist_items_playlist_id_position")
        ),
    )
    op.create_index(
        op.f("ix_playlist_items_media_id"), "playlist_items", ["media_id"], unique=False
    )
    op.create_table(
        "shows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rrule", sa.Text(), nullable=False),
        sa.Column("dtstart", UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("host_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "content",
            sa.Enum(
                "clock",
                "playlist",
                "smart_block",
                "webstream",
                "live",
                name=op.f("ck_shows_content"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("clock_id", sa.Uuid(), nullable=True),
        sa.Column("playlist_id", sa.Uuid(), nullable=True),
        sa.Column("smart_block_id", sa.Uuid(), nullable=True),
        sa.Column("webstream_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("duration_ms > 0", name=op.f("ck_shows_duration_positive")),
        sa.ForeignKeyConstraint(
            ["clock_id"], ["clocks.id"], name=op.f("fk_shows_clock_id_clocks"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["host_user_id"],
            ["users.id"],
            name=op.f("fk_shows_host_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.id"],
            name=op.f("fk_shows_playlist_id_playlists"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["smart_block_id"],
            ["smart_blocks.id"],
            name=op.f("fk_shows_smart_block_id_smart_blocks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_shows_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webstream_id"],
            ["webstreams.id"],
            name=op.f("fk_shows_webstream_id_webstreams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shows")),
        sa.UniqueConstraint("station_id", "name", name=op.f("uq_shows_station_id_name")),
    )
    op.create_index(op.f("ix_shows_clock_id"), "shows", ["clock_id"], unique=False)
    op.create_index(op.f("ix_shows_host_user_id"), "shows", ["host_user_id"], unique=False)
    op.create_index(op.f("ix_shows_playlist_id"), "shows", ["playlist_id"], unique=False)
    op.create_index(op.f("ix_shows_smart_block_id"), "shows", ["smart_block_id"], unique=False)
    op.create_index(op.f("ix_shows_webstream_id"), "shows", ["webstream_id"], unique=False)
    op.create_table(
        "show_exceptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("show_id", sa.Uuid(), nullable=False),
        sa.Column("occurrence_start", UTCDateTime(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "cancel",
                "move",
                "substitute",
                name=op.f("ck_show_exceptions_kind"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("new_start", UTCDateTime(), nullable=True),
        sa.Column("new_duration_ms", sa.Integer(), nullable=True),
        sa.Column("substitute", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "new_duration_ms > 0", name=op.f("ck_show_exceptions_new_duration_positive")
        ),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
            name=op.f("fk_show_exceptions_show_id_shows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_show_exceptions")),
        sa.UniqueConstraint(
            "show_id", "occurrence_start", name=op.f("uq_show_exceptions_show_id_occurrence_start")
        ),
    )
    op.create_table(
        "timeline_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "track",
                "jingle",
                "webstream",
                "live",
                "stopset",
                name=op.f("ck_timeline_entries_kind"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "queued",
                "on_air",
                "aired",
                "skipped",
                name=op.f("ck_timeline_entries_status"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "timing",
            sa.Enum(
                "hard",
                "soft",
                name=op.f("ck_timeline_entries_timing"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("media_id", sa.Uuid(), nullable=True),
        sa.Column("webstream_id", sa.Uuid(), nullable=True),
        sa.Column("playlist_id", sa.Uuid(), nullable=True),
        sa.Column("smart_block_id", sa.Uuid(), nullable=True),
        sa.Column("show_id", sa.Uuid(), nullable=True),
        sa.Column("cue_in_ms", sa.Integer(), nullable=False),
        sa.Column("cue_out_ms", sa.Integer(), nullable=True),
        sa.Column("fade_in_ms", sa.Integer(), nullable=False),
        sa.Column("fade_out_ms", sa.Integer(), nullable=False),
        sa.Column(
            "fade_curve",
            sa.Enum(
                "linear",
                "logarithmic",
                "exponential",
                "s_curve",
                "smart",
                name=op.f("ck_timeline_entries_fade_curve"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("gain_db", sa.Double(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("artist", sa.String(length=255), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("cue_in_ms >= 0", name=op.f("ck_timeline_entries_cue_in_nonneg")),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_timeline_entries_ends_after_starts")
        ),
        sa.CheckConstraint(
            "fade_in_ms >= 0 AND fade_out_ms >= 0", name=op.f("ck_timeline_entries_fades_nonneg")
        ),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media_items.id"],
            name=op.f("fk_timeline_entries_media_id_media_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.id"],
            name=op.f("fk_timeline_entries_playlist_id_playlists"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
            name=op.f("fk_timeline_entries_show_id_shows"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["smart_block_id"],
            ["smart_blocks.id"],
            name=op.f("fk_timeline_entries_smart_block_id_smart_blocks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_timeline_entries_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webstream_id"],
            ["webstreams.id"],
            name=op.f("fk_timeline_entries_webstream_id_webstreams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_entries")),
        sa.UniqueConstraint("station_id", "seq", name=op.f("uq_timeline_entries_station_id_seq")),
    )
    op.create_index(
        op.f("ix_timeline_entries_media_id"), "timeline_entries", ["media_id"], unique=False
    )
    op.create_index(
        op.f("ix_timeline_entries_playlist_id"), "timeline_entries", ["playlist_id"], unique=False
    )
    op.create_index(
        op.f("ix_timeline_entries_show_id"), "timeline_entries", ["show_id"], unique=False
    )
    op.create_index(
        op.f("ix_timeline_entries_smart_block_id"),
        "timeline_entries",
        ["smart_block_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_timeline_entries_station_id_starts_at"),
        "timeline_entries",
        ["station_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_timeline_entries_webstream_id"), "timeline_entries", ["webstream_id"], unique=False
    )
    op.create_table(
        "as_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("timeline_entry_id", sa.Uuid(), nullable=True),
        sa.Column("media_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("artist", sa.String(length=255), nullable=True),
        sa.Column("album", sa.String(length=255), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column(
            "end_reason",
            sa.Enum(
                "finished",
                "skipped",
                "preempted",
                "error",
                name=op.f("ck_as_run_end_reason"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("priority", PriorityType(), nullable=False),
        sa.Column("layer", sa.String(length=32), nullable=False),
        sa.CheckConstraint("priority BETWEEN 0 AND 4", name=op.f("ck_as_run_priority_range")),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media_items.id"],
            name=op.f("fk_as_run_media_id_media_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_as_run_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["timeline_entry_id"],
            ["timeline_entries.id"],
            name=op.f("fk_as_run_timeline_entry_id_timeline_entries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_as_run")),
    )
    op.create_index(op.f("ix_as_run_media_id"), "as_run", ["media_id"], unique=False)
    op.create_index(
        op.f("ix_as_run_station_id_started_at"),
        "as_run",
        ["station_id", "started_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_as_run_timeline_entry_id"), "as_run", ["timeline_entry_id"], unique=False
    )
    op.create_table(
        "executor_states",
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "idle",
                "preloading",
                "playing",
                "fading",
                "live",
                "emergency",
                name=op.f("ck_executor_states_state"),
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("current_entry_id", sa.Uuid(), nullable=True),
        sa.Column("position_ms", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("position_ms >= 0", name=op.f("ck_executor_states_position_nonneg")),
        sa.ForeignKeyConstraint(
            ["current_entry_id"],
            ["timeline_entries.id"],
            name=op.f("fk_executor_states_current_entry_id_timeline_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_executor_states_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_executor_states")),
    )
    op.create_index(
        op.f("ix_executor_states_current_entry_id"),
        "executor_states",
        ["current_entry_id"],
        unique=False,
    )


def downgrade() -> None:
    # children before parents, so foreign keys never point at a dropped table
    op.drop_table("executor_states")
    op.drop_table("as_run")
    op.drop_table("timeline_entries")
    op.drop_table("show_exceptions")
    op.drop_table("shows")
    op.drop_table("playlist_items")
    op.drop_table("outputs")
    op.drop_table("clock_slots")
    op.drop_table("webstreams")
    op.drop_table("smart_blocks")
    op.drop_table("priority_sources")
    op.drop_table("playlists")
    op.drop_table("mounts")
    op.drop_table("memberships")
    op.drop_table("media_items")
    op.drop_table("live_sessions")
    op.drop_table("clocks")
    op.drop_table("audit_log")
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_table("stations")
