using System.Security.Cryptography;

namespace Upswing.Common.Http;

/// <summary>Strong ETags derived from response bytes: equal bodies, equal tags, on every node.</summary>
public static class ETags
{
    public static string For(ReadOnlySpan<byte> body) => "\"" + Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 12)) + "\"";
}
