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
    readonly List<Pattern> _patterns = [];

    /// <summary>
    /// A body pattern (-1 = any byte) and its longest run of fixed bytes, which is searched for
    /// first: a vectorized search for a run, where looking for the first byte alone stops at
    /// every position of content made of that byte (a line of X and the EICAR pattern).
    /// </summary>
    sealed record Pattern(string Name, long? Offset, short[] Bytes, byte[] Anchor, int AnchorAt);

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
        var (anchorAt, anchorLength) = (0, 0);
        for (int i = 0, run = 0; i < pattern.Length; i++)
        {
            run = pattern[i] < 0 ? 0 : run + 1;
            if (run > anchorLength) (anchorAt, anchorLength) = (i - run + 1, run);
        }
        var anchor = pattern[anchorAt..(anchorAt + anchorLength)].Select(b => (byte)b).ToArray();
        _patterns.Add(new Pattern(name, offset, pattern, anchor, anchorAt));
    }

    /// <summary>The name of the first signature matching <paramref name="content"/>, or null.</summary>
    public string? Match(byte[] content)
    {
        if (_hashes.Count > 0)
        {
            var md5 = Convert.ToHexStringLower(MD5.HashData(content));
            if (_hashes.TryGetValue((md5, content.Length), out var byHash) || _hashes.TryGetValue((md5, -1), out byHash)) return byHash;
        }
        foreach (var p in _patterns)
            if (p.Offset is { } at ? MatchesAt(content, p.Bytes, at) : Find(content, p)) return p.Name;
        return null;
    }

    static bool Find(byte[] content, Pattern p)
    {
        if (p.Bytes.Length == 0 || p.Bytes.Length > content.Length) return false;
        if (p.Anchor.Length == 0) return true; // only wildcards: any content that long
        // The anchor of a match starting at s lies at s + AnchorAt, for s from 0 to content.Length - Bytes.Length.
        var end = content.Length - p.Bytes.Length + p.AnchorAt + p.Anchor.Length;
        for (var from = p.AnchorAt; from + p.Anchor.Length <= end;)
        {
            var hit = content.AsSpan(from, end - from).IndexOf(p.Anchor);
            if (hit < 0) return false;
            if (MatchesAt(content, p.Bytes, from + hit - p.AnchorAt)) return true;
            from += hit + 1;
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
