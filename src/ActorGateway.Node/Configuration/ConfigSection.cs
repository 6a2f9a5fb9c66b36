using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorGateway.Node.Configuration;

/// <summary>
/// A section of the HOCON that knows its full path, so that a value of the wrong type ("lots"
/// for a size, "soon" for a duration) is reported with the key it was read from, as a
/// <see cref="BadConfigurationException"/>, instead of a bare format error.
/// </summary>
public sealed class ConfigSection(Config config, string path)
{
    public string Path => path;

    /// <summary>The full HOCON path of a key of this section.</summary>
    public string KeyOf(string key) => path.Length == 0 ? key : $"{path}.{key}";

    public bool HasPath(string key) => config.HasPath(key);

    public ConfigSection? GetConfig(string key) =>
        Read(key, "an object { ... }", () => config.GetConfig(key)) is { } c ? new ConfigSection(c, KeyOf(key)) : null;

    public string GetString(string key, string @default = "") => Read(key, "a string", () => config.GetString(key, @default));
    public int GetInt(string key, int @default) => Read(key, "a whole number", () => config.GetInt(key, @default));
    public long GetLong(string key, long @default) => Read(key, "a whole number", () => config.GetLong(key, @default));
    public double GetDouble(string key, double @default) => Read(key, "a number", () => config.GetDouble(key, @default));
    public bool GetBoolean(string key, bool @default) => Read(key, "on or off", () => config.GetBoolean(key, @default));
    public TimeSpan GetTimeSpan(string key, TimeSpan @default) => Read(key, "a duration like 30s, 5m or 2h", () => config.GetTimeSpan(key, @default));
    public IList<string> GetStringList(string key, string[] @default) => Read(key, "a list of strings", () => config.GetStringList(key, @default));

    /// <summary>A list of durations (retry delays).</summary>
    public IReadOnlyList<TimeSpan> GetTimeSpanList(string key) =>
        Read(key, "a list of durations like [1m, 5m]", () => config.GetValue(key)?.GetArray().Select(v => v.GetTimeSpan()).ToArray() ?? []);

    /// <summary>The elements of a list of objects, each a section named by its index.</summary>
    public IReadOnlyList<ConfigSection> GetSectionList(string key)
    {
        if (!config.HasPath(key)) return [];
        var items = Read(key, "a list of objects", () => config.GetValue(key).GetArray());
        return items.Select((v, i) => v.IsObject() ? new ConfigSection(new Config(new HoconRoot(v)), $"{KeyOf(key)}[{i}]")
            : throw new BadConfigurationException(null, $"{KeyOf(key)}[{i}]", "must be an object { ... }")).ToArray();
    }

    /// <summary>The fields of an object whose keys are names chosen by the operator (tenants, domains, routes).</summary>
    public IReadOnlyList<KeyValuePair<string, HoconValue>> Items(string key)
    {
        if (!config.HasPath(key)) return [];
        var value = config.GetValue(key);
        if (!value.IsObject()) throw new BadConfigurationException(null, KeyOf(key), "must be an object { ... }");
        return value.GetObject().Items.ToArray();
    }

    /// <summary>The section of one field of <see cref="Items"/>.</summary>
    public ConfigSection Item(string key, KeyValuePair<string, HoconValue> item) => item.Value.IsObject()
        ? new ConfigSection(new Config(new HoconRoot(item.Value)), $"{KeyOf(key)}.{Quoted(item.Key)}")
        : throw new BadConfigurationException(null, $"{KeyOf(key)}.{Quoted(item.Key)}", "must be an object { ... }");

    /// <summary>The string value of one field of <see cref="Items"/>.</summary>
    public string ItemString(string key, KeyValuePair<string, HoconValue> item) =>
        item.Value.IsString() ? item.Value.GetString() : throw new BadConfigurationException(null, $"{KeyOf(key)}.{Quoted(item.Key)}", "must be a string");

    /// <summary>Fails on a key this section does not know (a typo would otherwise be ignored silently).</summary>
    public void AllowOnly(params string[] known)
    {
        foreach (var field in config.AsEnumerable().Select(kv => kv.Key))
            if (!known.Contains(field))
                throw new BadConfigurationException(null, KeyOf(Quoted(field)), $"unknown key (known here: {string.Join(", ", known)})");
    }

    /// <summary>A problem with the value of <paramref name="key"/> found by the caller.</summary>
    public BadConfigurationException Error(string key, string problem) => new(null, KeyOf(key), problem);

    // Names with dots (domains) are quoted in a path, as they are written in the file.
    static string Quoted(string name) => name.Contains('.') ? $"\"{name}\"" : name;

    T Read<T>(string key, string expected, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is not BadConfigurationException)
        {
            var value = config.HasPath(key) ? config.GetValue(key).ToString() : "";
            throw new BadConfigurationException(null, KeyOf(key), $"'{value}' is not {expected}", e);
        }
    }
}
