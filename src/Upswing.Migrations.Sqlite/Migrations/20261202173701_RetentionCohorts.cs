using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Sqlite.Migrations
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
                    workspace_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    cohort_type = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    period = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    cohort_start = table.Column<DateOnly>(type: "TEXT", nullable: false),
                    offset = table.Column<int>(type: "INTEGER", nullable: false),
                    persons = table.Column<long>(type: "INTEGER", nullable: false),
                    computed_at = table.Column<long>(type: "INTEGER", nullable: false)
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
