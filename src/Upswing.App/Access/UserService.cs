using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Access;

/// <summary>A user as the API and dashboard show it.</summary>
public sealed record UserDto(Guid Id, string Email, string? DisplayName, bool IsAdmin, bool MustChangePassword);

/// <summary>The first-run administrator; <see cref="GeneratedPassword"/> is set only when Upswing chose it.</summary>
public sealed record BootstrapAdmin(UserDto User, string? GeneratedPassword);

/// <summary>User accounts: creation, password sign-in, invitations. Passwords go through ASP.NET Core's PasswordHasher.</summary>
public sealed class UserService
{
    private readonly UpswingDb db;
    private readonly IPasswordHasher<User> hasher;
    private readonly TimeProvider time;

    internal UserService(UpswingDb db, IPasswordHasher<User> hasher, TimeProvider time)
    {
        this.db = db;
        this.hasher = hasher;
        this.time = time;
    }

    public const int MinPasswordLength = 8;
    public const string DefaultAdminEmail = "admin@upswing.local";
    private static readonly TimeSpan InviteLifetime = TimeSpan.FromDays(7);

    // Hashing a dummy password for unknown e-mails keeps sign-in timing from revealing who has an account.
    private static readonly Lazy<string> DummyHash = new(() => new PasswordHasher<User>().HashPassword(null!, "dummy-password-for-timing"));

    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    public static bool IsPlausibleEmail(string? email) =>
        email is { Length: >= 3 and <= 320 } && email.IndexOf('@', StringComparison.Ordinal) is > 0 and var at
        && at < email.Length - 1 && !email.Any(char.IsWhiteSpace);

    public async Task<Result<UserDto>> CreateAsync(string? email, string? password, bool isAdmin, CancellationToken ct, bool mustChangePassword = false)
    {
        var errors = new FieldErrors();
        if (!IsPlausibleEmail(email?.Trim()))
        {
            errors.Add("email", "A valid e-mail address is required.");
        }

        if (password is null || password.Length < MinPasswordLength)
        {
            errors.Add("password", $"The password must be at least {MinPasswordLength} characters.");
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var normalized = NormalizeEmail(email!);
        if (await db.Users.AnyAsync(u => u.Email == normalized, ct))
        {
            return Failure.Conflict($"A user with e-mail '{normalized}' already exists.");
        }

        var now = time.GetUtcNow();
        var user = new User { Id = Ids.New(time), Email = normalized, IsAdmin = isAdmin, MustChangePassword = mustChangePassword, CreatedAt = now };
        user.PasswordHash = hasher.HashPassword(user, password!);
        db.Users.Add(user);
        await db.SaveChangesAsync(ct);
        return ToDto(user);
    }

    /// <summary>Creates the first administrator when the installation has no users yet; otherwise returns null.</summary>
    public async Task<BootstrapAdmin?> EnsureAdminAsync(string? email, string? password, CancellationToken ct)
    {
        if (await db.Users.AnyAsync(ct))
        {
            return null;
        }

        var generated = string.IsNullOrEmpty(password) ? Secrets.RandomToken(20) : null;
        var created = await CreateAsync(string.IsNullOrWhiteSpace(email) ? DefaultAdminEmail : email, password ?? generated, isAdmin: true, ct, mustChangePassword: generated is not null);
        return created.Succeeded
            ? new BootstrapAdmin(created.Value!, generated)
            : throw new InvalidOperationException($"Cannot create the first administrator: {created.Failure!.Message}");
    }

    /// <summary>The user whose e-mail and password match, or null.</summary>
    public async Task<UserDto?> SignInAsync(string? email, string? password, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(email) || string.IsNullOrEmpty(password) || email.Length > 320 || password.Length > 1024)
        {
            return null;
        }

        var normalized = NormalizeEmail(email);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == normalized, ct);
        if (user?.PasswordHash is null)
        {
            hasher.VerifyHashedPassword(null!, DummyHash.Value, password);
            return null;
        }

        var verdict = hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            return null;
        }

        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, password);
        }

        user.LastSignInAt = time.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return ToDto(user);
    }

    /// <summary>The longest-standing installation administrator, if any.</summary>
    public async Task<Guid?> FirstAdminIdAsync(CancellationToken ct) =>
        await db.Users.AsNoTracking().Where(u => u.IsAdmin).OrderBy(u => u.CreatedAt).Select(u => (Guid?)u.Id).FirstOrDefaultAsync(ct);

    public async Task<UserDto?> GetAsync(Guid id, CancellationToken ct) =>
        await db.Users.AsNoTracking().Where(u => u.Id == id).Select(u => ToDto(u)).FirstOrDefaultAsync(ct);

    public async Task<Result<UserDto>> ChangePasswordAsync(Guid userId, string? newPassword, CancellationToken ct)
    {
        if (newPassword is null || newPassword.Length < MinPasswordLength)
        {
            return Failure.Invalid("password", $"The password must be at least {MinPasswordLength} characters.");
        }

        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId, ct);
        if (user is null)
        {
            return Failure.NotFound("User not found.");
        }

        user.PasswordHash = hasher.HashPassword(user, newPassword);
        user.MustChangePassword = false;
        await db.SaveChangesAsync(ct);
        return ToDto(user);
    }

    /// <summary>Sets the password of an invited user from the token in their invitation link.</summary>
    public async Task<Result<UserDto>> AcceptInviteAsync(string? token, string? password, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 128)
        {
            return Failure.NotFound("This invitation does not exist or has expired.");
        }

        var hash = Secrets.Sha256Hex(token);
        var user = await db.Users.FirstOrDefaultAsync(u => u.InviteTokenHash == hash, ct);
        if (user is null || user.InviteExpiresAt < time.GetUtcNow())
        {
            return Failure.NotFound("This invitation does not exist or has expired.");
        }

        if (password is null || password.Length < MinPasswordLength)
        {
            return Failure.Invalid("password", $"The password must be at least {MinPasswordLength} characters.");
        }

        user.PasswordHash = hasher.HashPassword(user, password);
        user.InviteTokenHash = null;
        user.InviteExpiresAt = null;
        await db.SaveChangesAsync(ct);
        return ToDto(user);
    }

    /// <summary>Creates a password-less user with an invitation token; returns the user and the token (shown once).</summary>
    internal (User User, string Token) NewInvitedUser(string normalizedEmail)
    {
        var now = time.GetUtcNow();
        var token = Secrets.RandomToken();
        var user = new User
        {
            Id = Ids.New(time),
            Email = normalizedEmail,
            CreatedAt = now,
            InviteTokenHash = Secrets.Sha256Hex(token),
            InviteExpiresAt = now + InviteLifetime,
        };
        return (user, token);
    }

    private static UserDto ToDto(User u) => new(u.Id, u.Email, u.DisplayName, u.IsAdmin, u.MustChangePassword);
}
