using System.Security.Cryptography;

namespace ActorGateway.Mail.Scanning;

/// <summary>
/// ClamAV's simple signature formats, read from a signature directory: <c>.hdb</c> lines
/// <c>MD5:SIZE:NAME</c> (whole-file hashes) and <c>.ndb</c> lines <c>NAME:TARGET:OFFSET:HEX</c>
/// (body patterns; offset <c>*</c> or a number; <c>??</c> matches any byte). The EICAR test
/// signature is always included.
/// </summary>
public sealed class ClamAvSignatures
{
    public const string EicarName = "Eicar-Test-Signature";
    const string EicarHex = "58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a";

    readonly Dictionary<(string Md5, long Size), string> _hashes = new();
    readonly List<(string Name, long? Offset, short[] Pattern)> _patterns = [];

    public int Count => _hashes.Count + _patterns.Count;

    public ClamAvSignatures() => AddPattern(EicarName, null, EicarHex);

    /// <summary>Loads every .hdb and .ndb file of <paramref name="directory"/>; a bad line is a start-up error.</summary>
    public static ClamAvSignatures Load(string? directory)
    {
        var s = new ClamAvSignatures();
        if (string.IsNullOrEmpty(directory)) return s;
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"signature directory {directory} does not exist");
        foreach (var file in Directory.GetFiles(directory).Order())
        {
            var ext = Path.GetExtension(file).ToLowerInvariant();
            if (ext is not (".hdb" or ".ndb")) continue;
            var n = 0;
            foreach (var line in File.ReadLines(file))
            {
                n++;
                if (line.Length == 0 || line.StartsWith('#')) continue;
                var f = line.Split(':');
                if (ext == ".hdb" && f.Length >= 3 && f[0].Length == 32)
                    s._hashes[(f[0].ToLowerInvariant(), f[1] == "*" ? -1 : long.Parse(f[1]))] = f[2];
                else if (ext == ".ndb" && f.Length >= 4 && (f[2] == "*" || long.TryParse(f[2], out _)))
                    s.AddPattern(f[0], f[2] == "*" ? null : long.Parse(f[2]), f[3]);
                else throw new FormatException($"{file}:{n}: not a {ext} signature this scanner understands");
            }
        }
        return s;
    }

    void AddPattern(string name, long? offset, string hex)
    {
        if (hex.Length % 2 != 0) throw new FormatException($"signature {name}: odd hex length");
        var pattern = new short[hex.Length / 2];
        for (var i = 0; i < pattern.Length; i++)
        {
            var pair = hex.Substring(i * 2, 2);
            pattern[i] = pair == "??" ? (short)-1 : Convert.ToByte(pair, 16);
        }
        _patterns.Add((name, offset, pattern));
    }

    /// <summary>The name of the first signature matching <paramref name="content"/>, or null.</summary>
    public string? Match(byte[] content)
    {
        if (_hashes.Count > 0)
        {
            var md5 = Convert.ToHexStringLower(MD5.HashData(content));
            if (_hashes.TryGetValue((md5, content.Length), out var byHash) || _hashes.TryGetValue((md5, -1), out byHash)) return byHash;
        }
        foreach (var (name, offset, pattern) in _patterns)
            if (offset is { } at ? MatchesAt(content, pattern, at) : Find(content, pattern)) return name;
        return null;
    }

    static bool Find(byte[] content, short[] pattern)
    {
        if (pattern.Length == 0 || pattern.Length > content.Length) return false;
        var first = pattern[0];
        for (var i = 0; i <= content.Length - pattern.Length; i++)
        {
            if (first >= 0) { i = Array.IndexOf(content, (byte)first, i); if (i < 0 || i > content.Length - pattern.Length) return false; }
            if (MatchesAt(content, pattern, i)) return true;
        }
        return false;
    }

    static bool MatchesAt(byte[] content, short[] pattern, long at)
    {
        if (at < 0 || at + pattern.Length > content.Length) return false;
        for (var j = 0; j < pattern.Length; j++)
            if (pattern[j] >= 0 && content[at + j] != pattern[j]) return false;
        return true;
    }
}
