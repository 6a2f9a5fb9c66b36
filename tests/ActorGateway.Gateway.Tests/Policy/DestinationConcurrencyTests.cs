using ActorGateway.Mail.Delivery;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>A destination's adaptive connection limit: slow start, shrink on trouble, pause after failures in a row.</summary>
public sealed class DestinationConcurrencyTests
{
    static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    static readonly DestinationSettings Settings = new(InitialConcurrency: 2, MaxConcurrency: 4, MaxMessagesPerConnection: 100,
        MaxRecipientsPerTransaction: 100, FailuresBeforePause: 3, Pause: TimeSpan.FromMinutes(1));

    static int StartAll(DestinationConcurrency c, DateTimeOffset now)
    {
        var started = 0;
        while (c.TryStart(now)) started++;
        return started;
    }

    [Fact]
    public void Starts_at_the_initial_limit_and_grows_by_one_per_limit_successes_up_to_the_maximum()
    {
        var c = new DestinationConcurrency(Settings);
        Assert.Equal(2, StartAll(c, Now));
        c.Finished(null, Now);
        Assert.Equal(2, c.Limit); // half way: 1 of 2
        c.Finished(null, Now);
        Assert.Equal(3, c.Limit);
        for (var i = 0; i < 20; i++) { Assert.True(c.TryStart(Now)); c.Finished(null, Now); }
        Assert.Equal(4, c.Limit);
        Assert.Equal(4, StartAll(c, Now));
        Assert.Equal(22, c.Delivered);
    }

    [Fact]
    public void Trouble_at_the_receiver_shrinks_the_limit_but_never_below_one()
    {
        var c = new DestinationConcurrency(Settings with { FailuresBeforePause = 100 });
        StartAll(c, Now);
        c.Finished("smtp; 421 4.7.0 too many connections", Now);
        Assert.Equal(1, c.Limit);
        Assert.True(c.TryStart(Now) is false); // one still running
        c.Finished("x-gateway; connection failed", Now);
        Assert.Equal(1, c.Limit);
        Assert.Equal("x-gateway; connection failed", c.LastError);
        Assert.True(c.TryStart(Now));
    }

    [Fact]
    public void Failures_in_a_row_pause_the_destination_which_then_starts_again_at_the_initial_limit()
    {
        var c = new DestinationConcurrency(Settings);
        for (var i = 0; i < 3; i++) { Assert.True(c.TryStart(Now)); c.Finished("x-gateway; connection failed", Now); }
        Assert.True(c.IsPaused(Now));
        Assert.Equal(Now + TimeSpan.FromMinutes(1), c.PausedUntil);
        Assert.False(c.TryStart(Now + TimeSpan.FromSeconds(59)));

        var later = Now + TimeSpan.FromMinutes(1);
        Assert.False(c.IsPaused(later));
        Assert.Equal(2, StartAll(c, later));
        Assert.Null(c.PausedUntil);
    }

    [Fact]
    public void A_success_between_failures_keeps_the_destination_from_pausing()
    {
        var c = new DestinationConcurrency(Settings);
        foreach (var failure in new[] { "f", "f", null, "f", "f" }) { Assert.True(c.TryStart(Now)); c.Finished(failure, Now); }
        Assert.False(c.IsPaused(Now));
        Assert.Equal(2, c.FailuresInARow);
    }

    [Fact]
    public void The_message_rate_limits_hold_starts_back_until_the_window_lets_the_next_one_go()
    {
        var c = new DestinationConcurrency(Settings with { MaxConcurrency = 100, InitialConcurrency = 100, MessagesPerMinute = 3, MessagesPerHour = 5 });
        for (var i = 0; i < 3; i++) { Assert.True(c.TryStart(Now.AddSeconds(i))); c.Finished(null, Now.AddSeconds(i)); }
        Assert.False(c.TryStart(Now.AddSeconds(30)));
        Assert.Equal(Now.AddSeconds(60), c.RateAllowsAt(Now.AddSeconds(30)));
        Assert.True(c.TryStart(Now.AddSeconds(60)));
        Assert.True(c.TryStart(Now.AddSeconds(61)));
        // Five in the hour: the next only when the first is an hour old.
        Assert.False(c.TryStart(Now.AddSeconds(200)));
        Assert.Equal(Now.AddHours(1), c.RateAllowsAt(Now.AddSeconds(200)));
    }

    [Fact]
    public void Trouble_is_every_recipient_deferred_not_a_refused_recipient()
    {
        Assert.NotNull(DestinationConcurrency.TroubleIn(DeliveryOutcome.All(["a@x", "b@x"], RecipientStatus.Deferred, "4.2.1", "smtp; 421 busy")));
        Assert.Null(DestinationConcurrency.TroubleIn(new DeliveryOutcome([
            new RecipientOutcome("a@x", RecipientStatus.Delivered, "2.0.0", "smtp; 250 ok", "mx"),
            new RecipientOutcome("b@x", RecipientStatus.Deferred, "4.2.2", "smtp; 452 mailbox full", "mx")], "mx", null, null)));
        Assert.Null(DestinationConcurrency.TroubleIn(DeliveryOutcome.All(["a@x"], RecipientStatus.Failed, "5.1.1", "smtp; 550 no such user")));
    }
}
