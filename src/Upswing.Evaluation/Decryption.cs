using System.Security.Cryptography;
using System.Text;

namespace Upswing.Evaluation;

/// <summary>Decrypts GrowthBook's encrypted payloads: "base64(iv).base64(ciphertext)", AES-CBC with PKCS#7 padding.</summary>
public static class Decryption
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The plaintext, or null when the payload, key or padding is invalid.</summary>
    public static string? Decrypt(string encrypted, string keyBase64)
    {
        var parts = encrypted.Split('.');
        if (parts.Length != 2)
        {
            return null;
        }

        try
        {
            var key = Convert.FromBase64String(keyBase64);
            var iv = Convert.FromBase64String(parts[0]);
            var cipher = Convert.FromBase64String(parts[1]);
            if (key.Length is not (16 or 24 or 32) || iv.Length != 16 || cipher.Length == 0 || cipher.Length % 16 != 0)
            {
                return null;
            }

            using var aes = Aes.Create();
            aes.Key = key;
            var plain = aes.DecryptCbc(cipher, iv, PaddingMode.PKCS7);
            return StrictUtf8.GetString(plain);
        }
        catch (Exception e) when (e is FormatException or CryptographicException or ArgumentException or DecoderFallbackException)
        {
            return null;
        }
    }
}
