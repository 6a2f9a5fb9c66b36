using System.Globalization;
using System.Text.RegularExpressions;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>Reads when something happened from a node's log (lines start with its local time, HH:mm:ss.fff).</summary>
public static class NodeLog
{
    /// <summary>The time of the first line at or after <paramref name="after"/> that matches <paramref name="pattern"/>.</summary>
    public static DateTime? FirstAfter(string log, string pattern, DateTime after)
    {
        foreach (var line in log.Split('\n'))
        {
            if (line.Length < 12 || !DateTime.TryParseExact(line[..12], "HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var time))
                continue;
            time = after.Date + time.TimeOfDay;
            if (time >= after.AddMilliseconds(-5) && Regex.IsMatch(line, pattern)) return time;
        }
        return null;
    }
}
