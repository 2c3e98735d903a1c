using System.Security.Cryptography;
using System.Text;

namespace Upswing.Common;

/// <summary>Random tokens and their stored fingerprints.</summary>
public static class Secrets
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A random string from [A-Za-z0-9]; 43 characters carry 256 bits.</summary>
    public static string RandomToken(int length = 43) => RandomNumberGenerator.GetString(Alphabet, length);

    /// <summary>Lower-case hex SHA-256, the stored form of keys and one-time tokens.</summary>
    public static string Sha256Hex(string value)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(value), hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Compares two fingerprints without leaking where they differ.</summary>
    public static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));
}
