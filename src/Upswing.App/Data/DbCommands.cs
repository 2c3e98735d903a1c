using System.Data.Common;

namespace Upswing.Data;

/// <summary>Parameters for hand-written SQL, the same on both providers.</summary>
public static class DbCommands
{
    /// <summary>Adds a parameter named <paramref name="name"/> and returns it, so a statement reused per row can set its value.</summary>
    public static DbParameter AddParameter(this DbCommand command, string name, object? value = null)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
