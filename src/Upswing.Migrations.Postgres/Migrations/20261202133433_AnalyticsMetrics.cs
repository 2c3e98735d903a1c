using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class AnalyticsMetrics : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "experiment_metric_rollups",
                columns: table => new
                {
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    experiment_key = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    metric_key = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    variation = table.Column<int>(type: "integer", nullable: false),
                    day = table.Column<DateOnly>(type: "date", nullable: false),
                    units = table.Column<long>(type: "bigint", nullable: false),
                    sum = table.Column<double>(type: "double precision", nullable: false),
                    sum_squares = table.Column<double>(type: "double precision", nullable: false),
                    denominator_sum = table.Column<double>(type: "double precision", nullable: true),
                    denominator_sum_squares = table.Column<double>(type: "double precision", nullable: true),
                    sum_products = table.Column<double>(type: "double precision", nullable: true),
                    pre_sum = table.Column<double>(type: "double precision", nullable: true),
                    pre_sum_squares = table.Column<double>(type: "double precision", nullable: true),
                    sum_products_pre = table.Column<double>(type: "double precision", nullable: true),
                    computed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_experiment_metric_rollups", x => new { x.workspace_id, x.experiment_key, x.metric_key, x.variation, x.day });
                    table.ForeignKey(
                        name: "FK_experiment_metric_rollups_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "metric_definitions",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    workspace_id = table.Column<Guid>(type: "uuid", nullable: false),
                    key = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    description = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    @event = table.Column<string>(name: "event", type: "character varying(200)", maxLength: 200, nullable: true),
                    value_property = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    filters = table.Column<string>(type: "text", nullable: false),
                    conversion_window_hours = table.Column<int>(type: "integer", nullable: true),
                    retention_day = table.Column<int>(type: "integer", nullable: true),
                    numerator = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    denominator = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    direction = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    guardrail = table.Column<bool>(type: "boolean", nullable: false),
                    capping_type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: true),
                    capping_value = table.Column<double>(type: "double precision", nullable: true),
                    cuped_pre_days = table.Column<int>(type: "integer", nullable: true),
                    version = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_metric_definitions", x => x.id);
                    table.ForeignKey(
                        name: "FK_metric_definitions_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspaces",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_metric_definitions_workspace_id_key",
                table: "metric_definitions",
                columns: new[] { "workspace_id", "key" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "experiment_metric_rollups");

            migrationBuilder.DropTable(
                name: "metric_definitions");
        }
    }
}
