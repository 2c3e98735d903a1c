using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class Jobs : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "jobs",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: true),
                    kind = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    queue = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    args = table.Column<string>(type: "TEXT", nullable: false),
                    priority = table.Column<int>(type: "INTEGER", nullable: false),
                    state = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    max_attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    run_at = table.Column<long>(type: "INTEGER", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    attempted_at = table.Column<long>(type: "INTEGER", nullable: true),
                    finalized_at = table.Column<long>(type: "INTEGER", nullable: true),
                    lease_owner = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    lease_expires_at = table.Column<long>(type: "INTEGER", nullable: true),
                    heartbeat_at = table.Column<long>(type: "INTEGER", nullable: true),
                    cancel_requested_at = table.Column<long>(type: "INTEGER", nullable: true),
                    errors = table.Column<string>(type: "TEXT", nullable: true),
                    unique_key = table.Column<string>(type: "TEXT", maxLength: 600, nullable: true),
                    unique_scope = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    unique_lock = table.Column<string>(type: "TEXT", maxLength: 600, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_jobs", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_claim",
                table: "jobs",
                columns: new[] { "queue", "priority", "run_at", "id" },
                filter: "state IN ('available', 'retryable')");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_finalized",
                table: "jobs",
                column: "finalized_at",
                filter: "state IN ('succeeded', 'discarded', 'cancelled')");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_lease",
                table: "jobs",
                column: "lease_expires_at",
                filter: "state = 'running'");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_workspace",
                table: "jobs",
                columns: new[] { "workspace_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ux_jobs_unique_lock",
                table: "jobs",
                column: "unique_lock",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "jobs");
        }
    }
}
