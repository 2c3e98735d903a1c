using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class VitalsRollups : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "vitals_rollups",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    day = table.Column<DateOnly>(type: "date", nullable: false),
                    metric = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    path = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    device_class = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    samples = table.Column<long>(type: "bigint", nullable: false),
                    p50 = table.Column<double>(type: "double precision", nullable: false),
                    p75 = table.Column<double>(type: "double precision", nullable: false),
                    p90 = table.Column<double>(type: "double precision", nullable: false),
                    computed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_vitals_rollups", x => new { x.workspace_id, x.day, x.metric, x.path, x.device_class });
                    table.ForeignKey(
                        name: "FK_vitals_rollups_workspaces_workspace_id",
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
                name: "vitals_rollups");
        }
    }
}
