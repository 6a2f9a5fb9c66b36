using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorGateway.Node.Configuration;

/// <summary>
/// Which of the configuration files sets a key: the last one that has it (later files override
/// earlier ones), or, when none has the key itself, the last one with the nearest section above it.
/// </summary>
public static class KeySource
{
    public static string? FileSetting(IEnumerable<string> files, string key)
    {
        var parsed = files.Reverse().Select(f => (File: f, Root: TryParse(f))).Where(f => f.Root is not null).ToArray();
        var segments = PathSegments(key);
        for (var length = segments.Count; length > 0; length--)
            foreach (var (file, root) in parsed)
                if (Defines(root!, segments.Take(length))) return file;
        return null;
    }

    static HoconValue? TryParse(string file)
    {
        try { return ConfigurationFactory.ParseString(File.ReadAllText(file)).Root; }
        catch (Exception) { return null; }
    }

    static bool Defines(HoconValue root, IEnumerable<string> segments)
    {
        var value = root;
        foreach (var segment in segments)
        {
            if (!value.IsObject() || value.GetChildObject(segment) is not { } child) return false;
            value = child;
        }
        return true;
    }

    /// <summary>The names in a key path: <c>gateway.dkim.keys."a.example".key</c> has five; a list index ends it.</summary>
    public static List<string> PathSegments(string key)
    {
        var segments = new List<string>();
        var current = new System.Text.StringBuilder();
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c == '"')
            {
                var close = key.IndexOf('"', i + 1);
                if (close < 0) close = key.Length;
                current.Append(key, i + 1, close - i - 1);
                i = close;
            }
            else if (c == '.') { segments.Add(current.ToString()); current.Clear(); }
            else if (c == '[') break;
            else current.Append(c);
        }
        if (current.Length > 0) segments.Add(current.ToString());
        return segments;
    }
}
