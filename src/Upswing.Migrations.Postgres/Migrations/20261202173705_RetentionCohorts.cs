using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class RetentionCohorts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "retention_cohorts",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    cohort_type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    period = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    cohort_start = table.Column<DateOnly>(type: "date", nullable: false),
                    offset = table.Column<int>(type: "integer", nullable: false),
                    persons = table.Column<long>(type: "bigint", nullable: false),
                    computed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_retention_cohorts", x => new { x.workspace_id, x.cohort_type, x.period, x.cohort_start, x.offset });
                    table.ForeignKey(
                        name: "FK_retention_cohorts_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "retention_cohorts");
        }
    }
}
