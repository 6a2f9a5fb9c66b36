using System.Text;

namespace ActorGateway.Smtp.Protocol;

/// <summary>RET parameter of RFC 3461 4.3: what an NDR should return of the message.</summary>
public enum DsnReturn { Unspecified, Full, Headers }

/// <summary>NOTIFY parameter of RFC 3461 4.1.</summary>
[Flags]
public enum DsnNotify { Unspecified = 0, Never = 1, Success = 2, Failure = 4, Delay = 8 }

/// <summary>Parsing of the DSN parameters and of RFC 3461 xtext.</summary>
public static class DsnParameters
{
    public static bool TryParseRet(string value, out DsnReturn ret)
    {
        ret = value.ToUpperInvariant() switch { "FULL" => DsnReturn.Full, "HDRS" => DsnReturn.Headers, _ => DsnReturn.Unspecified };
        return ret != DsnReturn.Unspecified;
    }

    public static bool TryParseNotify(string value, out DsnNotify notify)
    {
        notify = DsnNotify.Unspecified;
        foreach (var part in value.Split(','))
        {
            var flag = part.ToUpperInvariant() switch
            {
                "NEVER" => DsnNotify.Never, "SUCCESS" => DsnNotify.Success,
                "FAILURE" => DsnNotify.Failure, "DELAY" => DsnNotify.Delay, _ => DsnNotify.Unspecified,
            };
            if (flag == DsnNotify.Unspecified || notify.HasFlag(flag)) return false;
            notify |= flag;
        }
        // NEVER must stand alone (RFC 3461 4.1).
        return notify != DsnNotify.Unspecified && (notify == DsnNotify.Never || !notify.HasFlag(DsnNotify.Never));
    }

    /// <summary>ORCPT=addr-type;xtext, e.g. "rfc822;user+2Bx@example.com". Returns "rfc822;decoded".</summary>
    public static bool TryParseOriginalRecipient(string value, out string original)
    {
        original = "";
        var semi = value.IndexOf(';');
        if (semi <= 0) return false;
        var type = value[..semi];
        if (!type.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) return false;
        if (!TryDecodeXtext(value[(semi + 1)..], out var addr) || addr.Length == 0) return false;
        original = $"{type};{addr}";
        return true;
    }

    /// <summary>xtext of RFC 3461 4: printable ASCII except '+' and '=', with "+XX" hex escapes.</summary>
    public static bool TryDecodeXtext(string xtext, out string decoded)
    {
        var sb = new StringBuilder(xtext.Length);
        decoded = "";
        for (var i = 0; i < xtext.Length; i++)
        {
            var c = xtext[i];
            if (c == '+')
            {
                if (i + 2 >= xtext.Length || !Uri.IsHexDigit(xtext[i + 1]) || !Uri.IsHexDigit(xtext[i + 2])) return false;
                sb.Append((char)Convert.ToByte(xtext.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (c is < '!' or > '~' || c == '=') return false;
            else sb.Append(c);
        }
        decoded = sb.ToString();
        return true;
    }
}
