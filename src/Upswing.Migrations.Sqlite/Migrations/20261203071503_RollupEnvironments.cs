using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Upswing.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class RollupEnvironments : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropPrimaryKey(
                name: "PK_vitals_rollups",
                table: "vitals_rollups");

            migrationBuilder.DropPrimaryKey(
                name: "PK_retention_cohorts",
                table: "retention_cohorts");

            migrationBuilder.DropPrimaryKey(
                name: "PK_k_factor_rollups",
                table: "k_factor_rollups");

            migrationBuilder.DropPrimaryKey(
                name: "PK_funnel_rollups",
                table: "funnel_rollups");

            migrationBuilder.DropPrimaryKey(
                name: "PK_daily_metric_rollups",
                table: "daily_metric_rollups");

            migrationBuilder.AddColumn<Guid>(
                name: "environment_id",
                table: "vitals_rollups",
                type: "TEXT",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "environment_id",
                table: "retention_cohorts",
                type: "TEXT",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "environment_id",
                table: "k_factor_rollups",
                type: "TEXT",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "environment_id",
                table: "funnel_rollups",
                type: "TEXT",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddColumn<Guid>(
                name: "environment_id",
                table: "daily_metric_rollups",
                type: "TEXT",
                nullable: false,
                defaultValue: new Guid("00000000-0000-0000-0000-000000000000"));

            migrationBuilder.AddPrimaryKey(
                name: "PK_vitals_rollups",
                table: "vitals_rollups",
                columns: new[] { "workspace_id", "day", "environment_id", "metric", "path", "device_class" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_retention_cohorts",
                table: "retention_cohorts",
                columns: new[] { "workspace_id", "cohort_type", "period", "cohort_start", "offset", "environment_id" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_k_factor_rollups",
                table: "k_factor_rollups",
                columns: new[] { "workspace_id", "cohort_day", "loop", "environment_id" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_funnel_rollups",
                table: "funnel_rollups",
                columns: new[] { "workspace_id", "funnel_key", "day", "environment_id", "breakdown", "step" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_daily_metric_rollups",
                table: "daily_metric_rollups",
                columns: new[] { "workspace_id", "day", "environment_id", "event" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropPrimaryKey(
                name: "PK_vitals_rollups",
                table: "vitals_rollups");

            migrationBuilder.DropPrimaryKey(
                name: "PK_retention_cohorts",
                table: "retention_cohorts");

            migrationBuilder.DropPrimaryKey(
                name: "PK_k_factor_rollups",
                table: "k_factor_rollups");

            migrationBuilder.DropPrimaryKey(
                name: "PK_funnel_rollups",
                table: "funnel_rollups");

            migrationBuilder.DropPrimaryKey(
                name: "PK_daily_metric_rollups",
                table: "daily_metric_rollups");

            migrationBuilder.DropColumn(
                name: "environment_id",
                table: "vitals_rollups");

            migrationBuilder.DropColumn(
                name: "environment_id",
                table: "retention_cohorts");

            migrationBuilder.DropColumn(
                name: "environment_id",
                table: "k_factor_rollups");

            migrationBuilder.DropColumn(
                name: "environment_id",
                table: "funnel_rollups");

            migrationBuilder.DropColumn(
                name: "environment_id",
                table: "daily_metric_rollups");

            migrationBuilder.AddPrimaryKey(
                name: "PK_vitals_rollups",
                table: "vitals_rollups",
                columns: new[] { "workspace_id", "day", "metric", "path", "device_class" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_retention_cohorts",
                table: "retention_cohorts",
                columns: new[] { "workspace_id", "cohort_type", "period", "cohort_start", "offset" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_k_factor_rollups",
                table: "k_factor_rollups",
                columns: new[] { "workspace_id", "cohort_day", "loop" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_funnel_rollups",
                table: "funnel_rollups",
                columns: new[] { "workspace_id", "funnel_key", "day", "breakdown", "step" });

            migrationBuilder.AddPrimaryKey(
                name: "PK_daily_metric_rollups",
                table: "daily_metric_rollups",
                columns: new[] { "workspace_id", "day", "event" });
        }
    }
}
