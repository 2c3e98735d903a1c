using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Upswing.Data;

namespace Upswing.App.Tests.Architecture;

/// <summary>Keeps module internals internal: other modules and the server talk to a module through its services.</summary>
public sealed class ModuleBoundaryTests
{
    private static readonly Assembly App = typeof(UpswingDb).Assembly;

    [Fact]
    public void Entities_AreNotPublic()
    {
        using var db = new UpswingDb(new DbContextOptionsBuilder<UpswingDb>().UseSqlite("Data Source=:memory:").Options);
        var publicEntities = db.Model.GetEntityTypes().Select(e => e.ClrType).Where(t => t.IsPublic).Select(t => t.FullName).ToList();
        Assert.Empty(publicEntities);
    }

    [Fact]
    public void EntityConfigurations_AreNotPublic()
    {
        var configurations = App.GetTypes().Where(t => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEntityTypeConfiguration<>)));
        Assert.All(configurations, t => Assert.False(t.IsPublic, $"{t.FullName} should be internal"));
    }

    [Fact]
    public void PublicTypes_ExposeNoEntity()
    {
        using var db = new UpswingDb(new DbContextOptionsBuilder<UpswingDb>().UseSqlite("Data Source=:memory:").Options);
        var entities = db.Model.GetEntityTypes().Select(e => e.ClrType).ToHashSet();
        var leaks =
            from type in App.GetExportedTypes()
            from member in type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            from exposed in ExposedTypes(member)
            where entities.Contains(exposed)
            select $"{type.Name}.{member.Name} exposes {exposed.Name}";
        Assert.Empty(leaks);
    }

    [Fact]
    public void PublicTypes_AreSealedOrStaticOrAbstract()
    {
        var open = App.GetExportedTypes().Where(t => t.IsClass && !t.IsSealed && !t.IsAbstract && !typeof(Delegate).IsAssignableFrom(t)).Select(t => t.FullName).ToList();
        Assert.Empty(open);
    }

    private static IEnumerable<Type> ExposedTypes(MemberInfo member)
    {
        IEnumerable<Type> raw = member switch
        {
            MethodInfo m => [m.ReturnType, .. m.GetParameters().Select(p => p.ParameterType)],
            PropertyInfo p => [p.PropertyType],
            FieldInfo f => [f.FieldType],
            ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
            _ => [],
        };
        return raw.SelectMany(Flatten);
    }

    private static IEnumerable<Type> Flatten(Type type) =>
        type.IsGenericType ? [type, .. type.GetGenericArguments().SelectMany(Flatten)] : type.HasElementType ? Flatten(type.GetElementType()!) : [type];
}
