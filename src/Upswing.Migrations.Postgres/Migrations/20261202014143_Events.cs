using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class Events : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "event_daily_counts",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    day = table.Column<DateOnly>(type: "date", nullable: false),
                    type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    count = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_daily_counts", x => new { x.workspace_id, x.day, x.type, x.name });
                });

            migrationBuilder.CreateTable(
                name: "event_identities",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    anonymous_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    user_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    linked_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_identities", x => new { x.workspace_id, x.anonymous_id });
                });

            migrationBuilder.CreateTable(
                name: "event_message_ids",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    message_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    timestamp = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_message_ids", x => new { x.workspace_id, x.message_id });
                });

            migrationBuilder.CreateTable(
                name: "event_quarantine",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    message_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: true),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    reasons = table.Column<string>(type: "text", nullable: false),
                    payload = table.Column<string>(type: "text", nullable: false),
                    received_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_quarantine", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "event_users",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    user_id = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    traits = table.Column<string>(type: "text", nullable: false),
                    first_seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_event_users", x => new { x.workspace_id, x.user_id });
                });

            // Written by hand rather than by the model: EF Core cannot declare a partitioned table. Events are
            // partitioned by day of their timestamp (the writer creates each day's partition on first use), so old days
            // can be detached or dropped whole and queries over a time range touch only their days. A unique index
            // would have to include the day, so dedup lives in event_message_ids; JSON members are jsonb.
            migrationBuilder.Sql("""
                CREATE TABLE events (
                    id uuid NOT NULL,
                    workspace_id uuid NOT NULL,
                    environment_id uuid NULL,
                    message_id character varying(200) NOT NULL,
                    type character varying(16) NOT NULL,
                    name character varying(200) NULL,
                    user_id character varying(200) NULL,
                    anonymous_id character varying(200) NULL,
                    group_id character varying(200) NULL,
                    previous_id character varying(200) NULL,
                    timestamp timestamp with time zone NOT NULL,
                    received_at timestamp with time zone NOT NULL,
                    sent_at timestamp with time zone NULL,
                    original_timestamp timestamp with time zone NULL,
                    properties jsonb NULL,
                    context jsonb NULL,
                    traits jsonb NULL,
                    experiments jsonb NULL
                ) PARTITION BY RANGE (timestamp);
                CREATE INDEX "IX_events_workspace_id_timestamp" ON events (workspace_id, timestamp);
                CREATE INDEX "IX_events_workspace_id_user_id_timestamp" ON events (workspace_id, user_id, timestamp);
                CREATE INDEX "IX_events_workspace_id_anonymous_id_timestamp" ON events (workspace_id, anonymous_id, timestamp);
                """);

            migrationBuilder.CreateIndex(
                name: "IX_event_identities_workspace_id_user_id",
                table: "event_identities",
                columns: new[] { "workspace_id", "user_id" });

            migrationBuilder.CreateIndex(
                name: "IX_event_quarantine_workspace_id_message_id",
                table: "event_quarantine",
                columns: new[] { "workspace_id", "message_id" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_event_quarantine_workspace_id_received_at",
                table: "event_quarantine",
                columns: new[] { "workspace_id", "received_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "event_daily_counts");

            migrationBuilder.DropTable(
                name: "event_identities");

            migrationBuilder.DropTable(
                name: "event_message_ids");

            migrationBuilder.DropTable(
                name: "event_quarantine");

            migrationBuilder.DropTable(
                name: "event_users");

            migrationBuilder.DropTable(
                name: "events");
        }
    }
}
