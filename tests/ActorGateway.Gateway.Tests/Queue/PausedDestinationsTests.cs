using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Queue;

namespace ActorGateway.Gateway.Tests.Queue;

/// <summary>When the queue sweeper defers due mail itself because its destinations are paused, and when it wakes it as before.</summary>
public sealed class PausedDestinationsTests
{
    static readonly RetrySchedule Retry = new([TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15)], TimeSpan.FromDays(5));
    static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    static RecipientResult PausedAnswer(string to, DateTimeOffset until) =>
        new(to, RecipientStatus.Deferred, "4.4.1", "x-gateway; not attempted: paused", null, NotAttempted: true, Paused: true, PausedUntil: until);

    static RecipientResult Refused(string to) => new(to, RecipientStatus.Deferred, "4.4.1", "x-gateway; connection refused", null);

    static RecipientResult Delivered(string to) => new(to, RecipientStatus.Delivered, "2.0.0", "smtp; 250 ok", "mx.rcpt.example");

    static AttemptRecorded Attempt(DateTimeOffset at, string pool, params RecipientResult[] results) =>
        new(1, at, results, null, null, results.Any(r => r.Status == RecipientStatus.Deferred) ? at.AddMinutes(1) : null, Pool: pool);

    [Fact]
    public void Mail_due_while_its_destination_is_paused_goes_to_its_next_retry_time_counted_from_receipt()
    {
        var paused = new PausedDestinations(Retry);
        // Its first attempt found rcpt.example paused; a later message's found the pause renewed past its due time.
        paused.Attempted("a", Attempt(T0, Pools.Good, PausedAnswer("bob@rcpt.example", T0.AddSeconds(50))));
        paused.Attempted("b", Attempt(T0.AddSeconds(55), Pools.Good, PausedAnswer("carol@Rcpt.Example", T0.AddMinutes(2))));

        Assert.Equal(T0.AddMinutes(6), paused.HoldBack("a", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        Assert.Equal("rcpt.example (good)", paused.WaitsOn("a"));
        // Due in a few seconds (a sweep wakes what falls due before the next one): counted from its due time.
        Assert.Equal(T0.AddMinutes(6), paused.HoldBack("a", T0, T0.AddMinutes(1), T0.AddSeconds(57)));
        Assert.Equal(1, paused.Current(T0.AddMinutes(1)).Count);
        Assert.Equal(new PausedDestination(Pools.Good, "rcpt.example", T0.AddMinutes(2)), paused.Current(T0.AddMinutes(1)).Single());
    }

    [Fact]
    public void A_pause_that_ends_before_the_message_is_due_wakes_it()
    {
        var paused = new PausedDestinations(Retry);
        paused.Attempted("a", Attempt(T0, Pools.Good, PausedAnswer("bob@rcpt.example", T0.AddSeconds(50))));
        Assert.Null(paused.HoldBack("a", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        Assert.Empty(paused.Current(T0.AddMinutes(1)));
    }

    [Fact]
    public void The_pause_holds_back_no_more_than_the_pool_it_was_found_in()
    {
        var paused = new PausedDestinations(Retry);
        paused.Attempted("bad", Attempt(T0, Pools.Bad, PausedAnswer("bob@rcpt.example", T0.AddSeconds(10))));
        paused.Attempted("good", Attempt(T0.AddSeconds(30), Pools.Good, PausedAnswer("carol@rcpt.example", T0.AddMinutes(3))));
        Assert.Null(paused.HoldBack("bad", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        Assert.NotNull(paused.HoldBack("good", T0.AddSeconds(30), T0.AddSeconds(90), T0.AddSeconds(90)));
    }

    [Fact]
    public void A_message_whose_last_attempt_reached_the_receiver_or_that_waits_on_another_domain_too_is_woken()
    {
        var paused = new PausedDestinations(Retry);
        paused.Attempted("renew", Attempt(T0, Pools.Good, PausedAnswer("x@rcpt.example", T0.AddMinutes(30))));
        // Tried for real (connection refused): its next try is the entity's to make.
        paused.Attempted("tried", Attempt(T0, Pools.Good, Refused("bob@rcpt.example")));
        // One domain paused, the other deferred after a real try.
        paused.Attempted("mixed", Attempt(T0, Pools.Good, PausedAnswer("bob@rcpt.example", T0.AddMinutes(30)), Refused("dave@other.example")));
        // One recipient refused for good: its NDR is the entity's to queue, so it is woken when due.
        paused.Attempted("refused", Attempt(T0, Pools.Good, PausedAnswer("bob@rcpt.example", T0.AddMinutes(30)),
            new RecipientResult("eve@other.example", RecipientStatus.Failed, "5.1.1", "smtp; 550 no such user", "mx.other.example")));
        Assert.Null(paused.HoldBack("refused", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        Assert.Null(paused.HoldBack("tried", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        Assert.Null(paused.HoldBack("mixed", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        Assert.NotNull(paused.HoldBack("renew", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
    }

    [Fact]
    public void A_delivery_through_the_pool_ends_the_pause_for_the_mail_behind_it()
    {
        var paused = new PausedDestinations(Retry);
        paused.Attempted("a", Attempt(T0, Pools.Good, PausedAnswer("bob@rcpt.example", T0.AddMinutes(30))));
        Assert.NotNull(paused.HoldBack("a", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        // Another node of the pool reached the receiver: it is up.
        paused.Attempted("b", Attempt(T0.AddSeconds(30), Pools.Good, Delivered("carol@rcpt.example")));
        Assert.Null(paused.HoldBack("a", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
    }

    [Fact]
    public void Mail_is_never_held_past_its_lifetime_and_past_it_is_woken_to_be_returned()
    {
        var retry = new RetrySchedule([TimeSpan.FromHours(4)], TimeSpan.FromHours(10));
        var paused = new PausedDestinations(retry);
        paused.Attempted("old", Attempt(T0.AddHours(8), Pools.Good, PausedAnswer("bob@rcpt.example", T0.AddHours(20))));
        Assert.Equal(T0.AddHours(10), paused.HoldBack("old", T0, T0.AddHours(8), T0.AddHours(8)));
        Assert.Null(paused.HoldBack("old", T0, T0.AddHours(10), T0.AddHours(10)));
    }

    [Fact]
    public void Not_before_the_pause_ends_and_not_for_mail_it_knows_nothing_of()
    {
        var paused = new PausedDestinations(Retry);
        paused.Attempted("a", Attempt(T0, Pools.Good, PausedAnswer("bob@rcpt.example", T0.AddMinutes(20))));
        Assert.Equal(T0.AddMinutes(20), paused.HoldBack("a", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        Assert.Null(paused.HoldBack("unknown", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        Assert.Null(paused.HoldBack("a", null, T0.AddMinutes(1), T0.AddMinutes(1)));  // receipt not known
        paused.Forget("a");
        Assert.Null(paused.HoldBack("a", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
        // An attempt from a journal that did not keep the pool: nothing known.
        paused.Attempted("b", Attempt(T0, Pools.Good, PausedAnswer("bob@rcpt.example", T0.AddMinutes(20))) with { Pool = null });
        Assert.Null(paused.HoldBack("b", T0, T0.AddMinutes(1), T0.AddMinutes(1)));
    }
}
