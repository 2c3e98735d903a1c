using Upswing.Access;

namespace Upswing.App.Tests.Access;

public sealed class RolesTests
{
    [Theory]
    [InlineData(WorkspaceRole.Owner, WorkspaceRole.Admin, true)]
    [InlineData(WorkspaceRole.Admin, WorkspaceRole.Admin, true)]
    [InlineData(WorkspaceRole.Editor, WorkspaceRole.Admin, false)]
    [InlineData(WorkspaceRole.Viewer, WorkspaceRole.Editor, false)]
    public void AtLeast_OrdersRolesByPower(WorkspaceRole role, WorkspaceRole required, bool expected) =>
        Assert.Equal(expected, role.AtLeast(required));

    [Theory]
    [InlineData("owner", true)]
    [InlineData("ADMIN", true)]
    [InlineData("2", false)]
    [InlineData("superuser", false)]
    [InlineData(null, false)]
    public void TryParse_AcceptsNamesOnly(string? text, bool ok) => Assert.Equal(ok, WorkspaceRoles.TryParse(text, out _));

    [Theory]
    [InlineData("x@y.z", true)]
    [InlineData("maya.okafor@example.com", true)]
    [InlineData("no-at-sign", false)]
    [InlineData("@example.com", false)]
    [InlineData("a@", false)]
    [InlineData("a b@c.d", false)]
    public void IsPlausibleEmail_RejectsObviousMistakes(string email, bool ok) => Assert.Equal(ok, UserService.IsPlausibleEmail(email));
}
