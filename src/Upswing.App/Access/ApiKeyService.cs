using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Upswing.Audit;
using Upswing.Common;
using Upswing.Data;

namespace Upswing.Access;

/// <summary>
/// An API key as lists show it: never the key itself, only its prefix. <see cref="DecryptionKey"/> is set for
/// client keys with encrypted payloads: SDKs need it (GrowthBook's <c>decryptionKey</c>), so it is shown.
/// </summary>
public sealed record ApiKeyDto(
    Guid Id, string Name, ApiKeyKind Kind, string Prefix, string? Environment,
    DateTimeOffset CreatedAt, string? CreatedBy, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt, string? DecryptionKey = null);

/// <summary>A just-created key: <see cref="Key"/> is shown this once and never stored.</summary>
public sealed record CreatedApiKey(string Key, ApiKeyDto ApiKey);

/// <summary>Who a presented key belongs to; <see cref="PayloadKey"/> is the AES key its SDK payloads are encrypted with, if any.</summary>
public sealed record KeyIdentity(Guid KeyId, Guid WorkspaceId, ApiKeyKind Kind, string Prefix, Guid? EnvironmentId, byte[]? PayloadKey = null);

/// <summary>Issues, lists, revokes and verifies API keys. Keys are stored as SHA-256 hashes.</summary>
public sealed class ApiKeyService
{
    private readonly UpswingDb db;
    private readonly AuditLog audit;
    private readonly TimeProvider time;
    private readonly ApiKeyCache cache;
    private readonly KeyUseRecorder uses;
    private readonly IDataProtector payloadKeys;

    internal ApiKeyService(UpswingDb db, AuditLog audit, TimeProvider time, ApiKeyCache cache, KeyUseRecorder uses, IDataProtectionProvider protection)
    {
        this.db = db;
        this.audit = audit;
        this.time = time;
        this.cache = cache;
        this.uses = uses;
        payloadKeys = protection.CreateProtector("Upswing.ApiKeys.PayloadKey");
    }

    public const string SecretPrefix = "us_sk_";
    public const string ClientPrefix = "us_ck_";
    public const string ReadPrefix = "us_rk_";
    private const int VisiblePrefixLength = 12;

    internal static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    public async Task<Result<CreatedApiKey>> CreateAsync(WorkspaceContext caller, ApiKeyKind kind, string? environment, string? name, CancellationToken ct, bool encryptPayload = false)
    {
        if (!caller.Role.AtLeast(WorkspaceRole.Admin))
        {
            return Failure.Forbidden("Only owners and admins can create API keys.");
        }

        if (!Enum.IsDefined(kind))
        {
            return Failure.Invalid("kind", "The kind must be 'secret', 'client' or 'read'.");
        }

        var errors = new FieldErrors();
        if (name is { Length: > 200 })
        {
            errors.Add("name", "The name field must be at most 200 characters.");
        }

        if (encryptPayload && kind != ApiKeyKind.Client)
        {
            errors.Add("encryptPayload", "Only client keys serve SDK payloads; a secret key cannot encrypt them.");
        }

        if (kind == ApiKeyKind.Read && environment is not null)
        {
            errors.Add("environment", "A read key reads the whole workspace's metrics; it takes no environment.");
        }

        Guid? environmentId = null;
        if (kind == ApiKeyKind.Client || (environment is not null && kind != ApiKeyKind.Read))
        {
            var envKey = environment ?? "production";
            environmentId = await db.Environments.Where(e => e.WorkspaceId == caller.WorkspaceId && e.Key == envKey)
                .Select(e => (Guid?)e.Id).FirstOrDefaultAsync(ct);
            if (environmentId is null)
            {
                errors.Add("environment", $"The workspace has no environment '{envKey}'.");
            }
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var key = PrefixOf(kind) + Secrets.RandomToken();
        var now = time.GetUtcNow();
        var entity = new ApiKey
        {
            Id = Ids.New(time),
            WorkspaceId = caller.WorkspaceId,
            EnvironmentId = environmentId,
            Kind = kind,
            Name = string.IsNullOrWhiteSpace(name) ? $"{kind.ToString().ToLowerInvariant()} key {now:yyyy-MM-dd}" : name.Trim(),
            Prefix = key[..VisiblePrefixLength],
            Hash = Secrets.Sha256Hex(key),
            CreatedAt = now,
            CreatedBy = caller.Actor.Name,
            // GrowthBook's format: a random 128-bit AES key, base64, which the SDK is given as decryptionKey.
            PayloadKey = encryptPayload ? Protect(RandomNumberGenerator.GetBytes(16)) : null,
        };
        db.ApiKeys.Add(entity);
        var dto = await ToDtoAsync(entity, ct);
        audit.Record(db, caller.WorkspaceId, caller.Actor, "key.created", "api_key", entity.Id.ToString(), null, new { dto.Name, dto.Kind, dto.Prefix, dto.Environment, EncryptPayload = encryptPayload });
        await db.SaveChangesAsync(ct);
        return new CreatedApiKey(key, dto);
    }

    public async Task<IReadOnlyList<ApiKeyDto>> ListAsync(Guid workspaceId, CancellationToken ct)
    {
        var rows = await db.ApiKeys.AsNoTracking().Where(k => k.WorkspaceId == workspaceId).ToListAsync(ct);
        var environments = await EnvironmentKeysAsync(workspaceId, ct);
        return rows.OrderByDescending(k => k.CreatedAt).Select(k => ToDto(k, environments)).ToList();
    }

    public async Task<ApiKeyDto?> GetAsync(Guid workspaceId, Guid id, CancellationToken ct)
    {
        var row = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.WorkspaceId == workspaceId && k.Id == id, ct);
        return row is null ? null : await ToDtoAsync(row, ct);
    }

    /// <summary>Revokes a key at once. Revoking a revoked key succeeds and changes nothing.</summary>
    public async Task<Result<ApiKeyDto>> RevokeAsync(WorkspaceContext caller, Guid id, CancellationToken ct)
    {
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.WorkspaceId == caller.WorkspaceId && k.Id == id, ct);
        if (key is null)
        {
            return Failure.NotFound("API key not found.");
        }

        if (!caller.Role.AtLeast(WorkspaceRole.Admin))
        {
            return Failure.Forbidden("Only owners and admins can revoke API keys.");
        }

        if (key.RevokedAt is null)
        {
            key.RevokedAt = time.GetUtcNow();
            cache.Remove(key.Hash);
            audit.Record(db, caller.WorkspaceId, caller.Actor, "key.revoked", "api_key", key.Id.ToString(), new { key.Name, key.Prefix, RevokedAt = (DateTimeOffset?)null }, new { key.Name, key.Prefix, key.RevokedAt });
            await db.SaveChangesAsync(ct);
        }

        return await ToDtoAsync(key, ct);
    }

    /// <summary>True when the text has the shape of an Upswing key; anything else is rejected before hashing.</summary>
    public static bool LooksLikeKey(string presented) =>
        presented.Length is >= 20 and <= 128
        && (presented.StartsWith(SecretPrefix, StringComparison.Ordinal) || presented.StartsWith(ClientPrefix, StringComparison.Ordinal)
            || presented.StartsWith(ReadPrefix, StringComparison.Ordinal));

    /// <summary>How keys of a kind start: us_sk_ (secret), us_ck_ (client), us_rk_ (read).</summary>
    public static string PrefixOf(ApiKeyKind kind) => kind switch
    {
        ApiKeyKind.Secret => SecretPrefix,
        ApiKeyKind.Client => ClientPrefix,
        _ => ReadPrefix,
    };

    /// <summary>The identity behind a presented key, or null when it is unknown, malformed or revoked.</summary>
    public async Task<KeyIdentity?> AuthenticateAsync(string presented, CancellationToken ct)
    {
        if (!LooksLikeKey(presented))
        {
            return null;
        }

        var hash = cache.HashOf(presented);
        if (cache.Get(hash) is { } cached)
        {
            uses.UsedNow(hash, cached.KeyId);
            return cached;
        }

        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Hash == hash, ct);
        // The index lookup already matched; the fixed-time comparison keeps any later refactor
        // (say, a prefix lookup) from turning into a timing oracle.
        if (key is null || key.RevokedAt is not null || !Secrets.FixedTimeEquals(key.Hash, hash))
        {
            return null;
        }

        var identity = new KeyIdentity(key.Id, key.WorkspaceId, key.Kind, key.Prefix, key.EnvironmentId, key.PayloadKey is { } protectedKey ? Unprotect(protectedKey) : null);
        cache.RememberHash(presented, hash);
        cache.Set(hash, identity, key.LastUsedAt ?? DateTimeOffset.MinValue);
        uses.UsedNow(hash, key.Id);
        return identity;
    }

    private async Task<ApiKeyDto> ToDtoAsync(ApiKey key, CancellationToken ct) => ToDto(key, await EnvironmentKeysAsync(key.WorkspaceId, ct));

    private async Task<Dictionary<Guid, string>> EnvironmentKeysAsync(Guid workspaceId, CancellationToken ct) =>
        await db.Environments.AsNoTracking().Where(e => e.WorkspaceId == workspaceId).ToDictionaryAsync(e => e.Id, e => e.Key, ct);

    private ApiKeyDto ToDto(ApiKey k, Dictionary<Guid, string> environments) => new(
        k.Id, k.Name, k.Kind, k.Prefix, k.EnvironmentId is { } e && environments.TryGetValue(e, out var env) ? env : null,
        k.CreatedAt, k.CreatedBy, k.LastUsedAt, k.RevokedAt, k.PayloadKey is { } p ? Convert.ToBase64String(Unprotect(p)) : null);

    private string Protect(byte[] key) => payloadKeys.Protect(Convert.ToBase64String(key));

    private byte[] Unprotect(string stored) => Convert.FromBase64String(payloadKeys.Unprotect(stored));
}
