using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Upswing.IntegrationTests;

/// <summary>Small helpers for reading JSON answers in tests.</summary>
internal static class Json
{
    public static async Task<JsonNode> ReadAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) ?? throw new InvalidOperationException("empty JSON");
    }

    public static async Task<JsonNode> ReadOkAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient client, string url, object body) =>
        client.PatchAsync(url, JsonContent.Create(body));

    public static string Str(this JsonNode node, string property) => node[property]!.GetValue<string>();

    public static IEnumerable<string> Ids(this JsonNode array) => array.AsArray().Select(n => n!["id"]!.ToString());

    public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
}
