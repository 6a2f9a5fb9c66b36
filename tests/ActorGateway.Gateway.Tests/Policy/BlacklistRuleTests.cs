using System.Net;
using ActorGateway.Mail.Blacklists;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>How DNSBL answers are read, and when the check runs (with instants the test chooses).</summary>
public sealed class BlacklistRuleTests
{
    static readonly DnsblZone Spamhaus = new("zen.spamhaus.org", [IPAddress.Parse("127.0.0.2"), IPAddress.Parse("127.0.0.4")],
        [IPAddress.Parse("127.255.255.254"), IPAddress.Parse("127.255.255.255")]);

    [Fact]
    public void Query_names_reverse_ipv4_octets_and_ipv6_nibbles()
    {
        Assert.Equal("2.0.0.127.zen.spamhaus.org", Spamhaus.QueryName(IPAddress.Parse("127.0.0.2")));
        Assert.Equal("10.2.0.192.zen.spamhaus.org", Spamhaus.QueryName(IPAddress.Parse("::ffff:192.0.2.10")));
        Assert.Equal("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org", Spamhaus.QueryName(IPAddress.Parse("2001:db8::1")));
    }

    [Fact]
    public void Refusal_codes_are_never_a_listing_and_only_the_zones_listed_codes_count()
    {
        Assert.Equal(DnsblAnswer.NotListed, Spamhaus.Classify([]));
        Assert.Equal(DnsblAnswer.Listed, Spamhaus.Classify([IPAddress.Parse("127.0.0.4")]));
        Assert.Equal(DnsblAnswer.Refused, Spamhaus.Classify([IPAddress.Parse("127.255.255.254")]));
        Assert.Equal(DnsblAnswer.NotListed, Spamhaus.Classify([IPAddress.Parse("127.0.0.99")]));
        var any = new DnsblZone("any.test", [], [IPAddress.Parse("127.255.255.254")]);
        Assert.Equal(DnsblAnswer.Listed, any.Classify([IPAddress.Parse("127.0.0.99")]));
        Assert.Equal(DnsblAnswer.Refused, any.Classify([IPAddress.Parse("127.255.255.254")]));
        Assert.Equal(DnsblAnswer.NotListed, any.Classify([IPAddress.Parse("10.0.0.1")]));
    }

    [Fact]
    public void Five_o_clock_berlin_is_five_o_clock_local_in_winter_and_in_summer()
    {
        var schedule = new CheckSchedule("0 5 * * *", "Europe/Berlin");
        Assert.Equal(DateTimeOffset.Parse("2026-01-11T04:00:00Z"), schedule.Next(DateTimeOffset.Parse("2026-01-10T12:00:00Z")));
        // The night the clocks go forward (29 March 2026): 05:00 CEST is 03:00 UTC.
        Assert.Equal(DateTimeOffset.Parse("2026-03-29T03:00:00Z"), schedule.Next(DateTimeOffset.Parse("2026-03-28T12:00:00Z")));
        Assert.Equal(DateTimeOffset.Parse("2026-07-02T03:00:00Z"), schedule.Next(DateTimeOffset.Parse("2026-07-01T03:00:00Z")));
    }

    [Fact]
    public void A_monitor_that_was_down_catches_up_the_latest_missed_slot_once_and_none_that_ran()
    {
        var schedule = new CheckSchedule("0 5 * * *", "Europe/Berlin");
        var lastRun = DateTimeOffset.Parse("2026-07-01T03:00:00Z");
        // Down for two days and a half: only the latest missed slot is run.
        Assert.Equal(DateTimeOffset.Parse("2026-07-03T03:00:00Z"), schedule.LatestDue(lastRun, DateTimeOffset.Parse("2026-07-03T15:00:00Z")));
        // Back before the next slot: nothing is due (the slot that ran is not run again).
        Assert.Null(schedule.LatestDue(lastRun, DateTimeOffset.Parse("2026-07-02T02:59:59Z")));
    }
}
