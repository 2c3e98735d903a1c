using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Upswing.Flags;

/// <summary>
/// GrowthBook's encrypted SDK payloads: features, saved groups and experiments each become
/// <c>base64(iv) + "." + base64(AES-128-CBC/PKCS7 ciphertext)</c> under the client key's AES key, in
/// <c>encryptedFeatures</c>, <c>encryptedSavedGroups</c> and <c>encryptedExperiments</c>; SDKs given the
/// key as <c>decryptionKey</c> decrypt them. A fresh IV per build.
/// </summary>
internal static class PayloadEncryption
{
    public static SdkPayload Encrypt(SdkPayload plain, byte[] key)
    {
        var payload = JsonNode.Parse(plain.Json)!.AsObject();
        var encrypted = new JsonObject
        {
            ["status"] = 200,
            ["features"] = new JsonObject(),
            ["experiments"] = new JsonArray(),
            ["dateUpdated"] = payload["dateUpdated"]?.DeepClone(),
            ["encryptedFeatures"] = Encrypt(payload["features"], key),
            ["encryptedSavedGroups"] = Encrypt(payload["savedGroups"], key),
            ["encryptedExperiments"] = Encrypt(payload["experiments"], key),
        };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(encrypted);
        return new SdkPayload(bytes, Common.Http.ETags.For(bytes), plain.DateUpdated);
    }

    public static string Encrypt(JsonNode? value, byte[] key)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        var iv = RandomNumberGenerator.GetBytes(16);
        var cipher = aes.EncryptCbc(JsonSerializer.SerializeToUtf8Bytes(value), iv, PaddingMode.PKCS7);
        return Convert.ToBase64String(iv) + "." + Convert.ToBase64String(cipher);
    }
}
