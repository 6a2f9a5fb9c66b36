using System.Text.Json;

namespace ActorGateway.Cli;

/// <summary>Human-readable output: aligned columns, or the node's JSON as it came (--json).</summary>
public static class Output
{
    public static void Table(IEnumerable<string> headers, IEnumerable<IEnumerable<string>> rows)
    {
        var all = new List<string[]> { headers.ToArray() };
        all.AddRange(rows.Select(r => r.ToArray()));
        var widths = Enumerable.Range(0, all[0].Length).Select(c => all.Max(r => c < r.Length ? r[c].Length : 0)).ToArray();
        foreach (var row in all)
            Console.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
    }

    public static void Json(JsonElement json) =>
        Console.WriteLine(JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));

    public static string Text(this JsonElement e, string property) =>
        e.TryGetProperty(property, out var v) ? v.ValueKind switch
        {
            JsonValueKind.Null or JsonValueKind.Undefined => "-",
            JsonValueKind.String => v.GetString() ?? "-",
            JsonValueKind.Array when v.GetArrayLength() == 0 => "-",
            JsonValueKind.Array => string.Join(",", v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString() : x.ToString())),
            _ => v.ToString(),
        } : "-";
}
