using System.Net;
using ActorGateway.Mail.Tenants;

namespace ActorGateway.Gateway.Tests.Policy;

public sealed class LoginFailureCounterTests
{
    sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    static readonly LoginFailureSettings Limits = new(MaxFailures: 3, Window: TimeSpan.FromMinutes(10), Lockout: TimeSpan.FromMinutes(15), Delay: TimeSpan.Zero, MaxClients: 100);
    static readonly IPAddress Client = IPAddress.Parse("192.0.2.7"), Other = IPAddress.Parse("192.0.2.8");

    [Fact]
    public void The_max_th_failure_within_the_window_locks_the_address_out_until_the_lockout_ends_then_it_counts_from_zero()
    {
        var clock = new ManualClock();
        var counter = new LoginFailureCounter(Limits, clock);
        Assert.Equal(new LoginFailure(1, null, false), counter.RecordFailure(Client));
        clock.Now += TimeSpan.FromMinutes(4);
        Assert.Equal(new LoginFailure(2, null, false), counter.RecordFailure(Client));
        Assert.Null(counter.LockedUntil(Client));
        clock.Now += TimeSpan.FromMinutes(4);
        var third = counter.RecordFailure(Client);
        Assert.True(third.StartedLockout);
        Assert.Equal(clock.Now + Limits.Lockout, third.LockedUntil);
        Assert.Equal(third.LockedUntil, counter.LockedUntil(Client));

        clock.Now += Limits.Lockout - TimeSpan.FromSeconds(1);
        Assert.NotNull(counter.LockedUntil(Client));
        clock.Now += TimeSpan.FromSeconds(1);
        Assert.Null(counter.LockedUntil(Client));
        Assert.Equal(new LoginFailure(1, null, false), counter.RecordFailure(Client));
    }

    [Fact]
    public void Failures_that_left_the_window_no_longer_count()
    {
        var clock = new ManualClock();
        var counter = new LoginFailureCounter(Limits, clock);
        counter.RecordFailure(Client);
        counter.RecordFailure(Client);
        clock.Now += Limits.Window;
        Assert.Equal(new LoginFailure(1, null, false), counter.RecordFailure(Client));
        Assert.Null(counter.LockedUntil(Client));
    }

    [Fact]
    public void Each_address_is_counted_on_its_own()
    {
        var counter = new LoginFailureCounter(Limits, new ManualClock());
        for (var i = 0; i < 3; i++) counter.RecordFailure(Client);
        Assert.NotNull(counter.LockedUntil(Client));
        Assert.Null(counter.LockedUntil(Other));
        Assert.Equal(1, counter.RecordFailure(Other).Failures);
        // A failure of a locked-out address (a parallel connection) does not extend its lockout.
        var until = counter.LockedUntil(Client);
        Assert.Equal(new LoginFailure(3, until, false), counter.RecordFailure(Client));
    }

    [Fact]
    public void An_ipv6_client_is_counted_per_64_and_an_ipv4_mapped_address_as_ipv4()
    {
        var counter = new LoginFailureCounter(Limits, new ManualClock());
        counter.RecordFailure(IPAddress.Parse("2001:db8:1:2::1"));
        counter.RecordFailure(IPAddress.Parse("2001:db8:1:2:ffff::9"));
        Assert.Equal(3, counter.RecordFailure(IPAddress.Parse("2001:db8:1:2::abcd")).Failures);
        Assert.NotNull(counter.LockedUntil(IPAddress.Parse("2001:db8:1:2::77")));
        Assert.Null(counter.LockedUntil(IPAddress.Parse("2001:db8:1:3::1")));

        counter.RecordFailure(Client);
        Assert.Equal(2, counter.RecordFailure(Client.MapToIPv6()).Failures);
    }

    [Fact]
    public void At_most_max_clients_are_tracked_and_a_running_lockout_outlasts_mere_counts()
    {
        var clock = new ManualClock();
        var counter = new LoginFailureCounter(Limits with { MaxClients = 3 }, clock);
        for (var i = 0; i < 3; i++) counter.RecordFailure(Client);
        for (var i = 1; i <= 20; i++)
        {
            clock.Now += TimeSpan.FromSeconds(1);
            counter.RecordFailure(IPAddress.Parse($"198.51.100.{i}"));
            Assert.True(counter.TrackedClients <= 3);
        }
        Assert.NotNull(counter.LockedUntil(Client));
        // The most recent counting address is still there, the oldest ones were dropped.
        Assert.Equal(2, counter.RecordFailure(IPAddress.Parse("198.51.100.20")).Failures);
        Assert.Equal(1, counter.RecordFailure(IPAddress.Parse("198.51.100.1")).Failures);
    }
}
