using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Delivery;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Retention;
using ActorGateway.Smtp.Protocol;

namespace ActorGateway.Gateway.Tests.Pipeline;

/// <summary>
/// Every transition of one message's lifecycle, without actors or a journal: the events a
/// decision produces are applied as the journal would replay them.
/// </summary>
public sealed class MessageLifecycleTests
{
    static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    static readonly RetrySchedule Retry = new([TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)], TimeSpan.FromDays(5));
    const string Bob = "bob@rcpt.example", Carol = "carol@other.example";

    static MessageLifecycle Accepted(string queueId = "Q", DateTimeOffset? received = null, bool isBounce = false, int carolNotify = 0)
    {
        var message = new MessageLifecycle(queueId);
        var envelope = new MessageEnvelope("local", isBounce ? "" : "alice@sender.example",
            [new QueuedRecipient(Bob, 0, null), new QueuedRecipient(Carol, carolNotify, "rfc822;carol@other.example")], "ENV1", false, false,
            received ?? Now, "192.0.2.7", isBounce);
        message.Apply(new MessageAccepted(queueId, envelope, "Message-ID: <m1@client.test>\r\nSubject: hi\r\n\r\nbody\r\n"u8.ToArray(), "node#1"));
        return message;
    }

    static DeliverResult Answer(string recipient, RecipientStatus status, string code) =>
        new(DeliveryAttempt.Domain(recipient), new DeliveryOutcome(
            [new RecipientOutcome(recipient, status, code, $"smtp; {code} answer", "mx." + DeliveryAttempt.Domain(recipient))],
            "mx." + DeliveryAttempt.Domain(recipient), "Tls13", "127.0.0.2"));

    /// <summary>Decides an attempt's events and applies them, as the entity does once they are stored.</summary>
    static IReadOnlyList<object> Attempt(MessageLifecycle message, int attempt, params DeliverResult[] answers)
    {
        var events = message.EventsOf(message.AttemptOf(new DeliveryAttempt.Finished(attempt, answers), Retry, Now));
        foreach (var e in events) message.Apply(e.Payload);
        return events.Select(e => e.Payload).ToArray();
    }

    [Fact]
    public void Accepted_all_recipients_are_pending_and_nothing_was_attempted()
    {
        var message = Accepted();
        Assert.True(message.Exists);
        Assert.Equal([Bob, Carol], message.Pending);
        Assert.Equal(0, message.Attempts);
        Assert.Equal("queued", message.State(false, false));
        Assert.Equal("delivering", message.State(attemptRunning: true, false));
        Assert.Null(message.Completion(Now)); // recipients pending
    }

    [Fact]
    public void An_attempt_that_delivers_every_recipient_completes_in_the_same_write_with_the_delivery_record()
    {
        var message = Accepted();
        var events = Attempt(message, 1, Answer(Bob, RecipientStatus.Delivered, "2.0.0"), Answer(Carol, RecipientStatus.Delivered, "2.0.0"));

        Assert.True(Assert.IsType<AttemptRecorded>(events[0]).Completes);
        var record = Assert.IsType<MessageCompleted>(events[1]).Record!;
        Assert.True(message.Completed);
        Assert.Equal("done", message.State(false, false));
        Assert.Null(message.Completion(Now)); // completed once only
        Assert.Equal(("Q", "m1@client.test", "192.0.2.7", 1), (record.QueueId, record.MessageId, record.ClientAddress, record.Attempts));
        Assert.All(record.Recipients, r => Assert.Equal((RecipientStatus.Delivered, "127.0.0.2", "Tls13", 1), (r.Status, r.Egress, r.Tls, r.Attempt)));
    }

    static DeliverResult NotTried(string recipient) =>
        new(DeliveryAttempt.Domain(recipient), DeliveryOutcome.NotTried([recipient], "4.4.5", "no connection was free in time"));

    [Fact]
    public void Mail_for_a_paused_destination_waits_for_the_pause_and_its_retry_delay_as_if_tried()
    {
        var message = Accepted();
        DeliverResult Paused(string r, TimeSpan left) => new(DeliveryAttempt.Domain(r),
            DeliveryOutcome.NotTried([r], "4.4.1", "paused"), PausedUntil: Now + left);
        // Retry delays 1m, then 5m: a pause that ends first does not bring the retry forward.
        Attempt(message, 1, Paused(Bob, TimeSpan.FromSeconds(40)), Paused(Carol, TimeSpan.FromSeconds(50)));
        Assert.Equal(Now + TimeSpan.FromMinutes(1), message.NextAttempt);
        Assert.All(message.History[^1].Results, r => Assert.True(r.Paused && r.NotAttempted));
        // A pause that ends later than the delay: not before it ends.
        Attempt(message, 2, Paused(Bob, TimeSpan.FromMinutes(30)), Paused(Carol, TimeSpan.FromMinutes(20)));
        Assert.Equal(Now + TimeSpan.FromMinutes(30), message.NextAttempt);
        // One domain paused, the other deferred by its receiver: the retry delay decides, the paused
        // attempts counted as tries (not counted, this would be the first try's 1m).
        Attempt(message, 3, Paused(Bob, TimeSpan.FromMinutes(30)), Answer(Carol, RecipientStatus.Deferred, "4.2.1"));
        Assert.Equal(Now + TimeSpan.FromMinutes(5), message.NextAttempt);
    }

    [Fact]
    public void An_attempt_that_only_waited_for_a_connection_everywhere_is_not_recorded()
    {
        var waited = new DeliverResult("rcpt.example", DeliveryOutcome.NotTried([Bob], "4.4.5", "no connection was free in time"), WaitedOut: true);
        Assert.True(MessageLifecycle.OnlyWaited(new DeliveryAttempt.Finished(1, [waited])));
        Assert.False(MessageLifecycle.OnlyWaited(new DeliveryAttempt.Finished(1, [waited, Answer(Carol, RecipientStatus.Delivered, "2.0.0")])));
        Assert.False(MessageLifecycle.OnlyWaited(new DeliveryAttempt.Finished(1, [NotTried(Bob)]))); // e.g. a paused destination: recorded
        Assert.False(MessageLifecycle.OnlyWaited(new DeliveryAttempt.Finished(1, [])));
    }

    [Fact]
    public void Deferrals_not_attempted_keep_the_first_retry_interval_and_tried_ones_lengthen_it()
    {
        var message = Accepted();
        // A busy destination, twice: nothing was sent, so the interval stays at the first delay.
        Attempt(message, 1, NotTried(Bob), NotTried(Carol));
        Assert.Equal(Now + TimeSpan.FromMinutes(1), message.NextAttempt);
        var recorded = Assert.IsType<AttemptRecorded>(Assert.Single(Attempt(message, 2, NotTried(Bob), NotTried(Carol))));
        Assert.Equal(Now + TimeSpan.FromMinutes(1), recorded.NextAttemptAt);
        Assert.All(recorded.Results, r => Assert.True(r.NotAttempted));
        Assert.Equal("x-gateway; not attempted: no connection was free in time", recorded.Results[0].Diagnostic);
        // A receiver's 4xx is a tried attempt: the first of them waits the first delay, the next one the second.
        Attempt(message, 3, Answer(Bob, RecipientStatus.Deferred, "4.2.1"), NotTried(Carol));
        Assert.Equal(Now + TimeSpan.FromMinutes(1), message.NextAttempt);
        Attempt(message, 4, NotTried(Bob), NotTried(Carol));
        Assert.Equal(Now + TimeSpan.FromMinutes(1), message.NextAttempt);
        Attempt(message, 5, Answer(Bob, RecipientStatus.Deferred, "4.2.1"), Answer(Carol, RecipientStatus.Deferred, "4.2.1"));
        Assert.Equal(Now + TimeSpan.FromMinutes(5), message.NextAttempt);
        Assert.Equal([Bob, Carol], message.Pending);
    }

    [Fact]
    public void Delivered_and_deferred_keeps_the_deferred_recipient_pending_until_the_retry_time()
    {
        var message = Accepted();
        var events = Attempt(message, 1, Answer(Bob, RecipientStatus.Delivered, "2.0.0"), Answer(Carol, RecipientStatus.Deferred, "4.2.1"));

        var recorded = Assert.IsType<AttemptRecorded>(Assert.Single(events));
        Assert.False(recorded.Completes);
        Assert.Equal(Now + TimeSpan.FromMinutes(1), message.NextAttempt);
        Assert.Equal([Carol], message.Pending);
        Assert.Equal("deferred", message.State(false, false));
        Assert.Empty(message.BouncesToQueue);

        // The second attempt delivers carol: done, and the record has each recipient's final answer.
        var second = Attempt(message, 2, Answer(Carol, RecipientStatus.Delivered, "2.0.0"));
        var record = Assert.IsType<MessageCompleted>(second[1]).Record!;
        Assert.Equal([(Bob, RecipientStatus.Delivered, 1), (Carol, RecipientStatus.Delivered, 2)],
            record.Recipients.Select(r => (r.Recipient, r.Status, r.Attempt)));
        Assert.Equal(2, record.Attempts);
    }

    [Fact]
    public void It_waits_on_disk_only_with_nothing_to_do_before_a_retry_far_enough_ahead()
    {
        var park = TimeSpan.FromSeconds(30);
        Assert.False(Accepted().WaitsBeyond(park, Now)); // never attempted: its first attempt is due

        var deferred = Accepted();
        Attempt(deferred, 1, Answer(Bob, RecipientStatus.Deferred, "4.2.1"), Answer(Carol, RecipientStatus.Deferred, "4.2.1"));
        Assert.True(deferred.WaitsBeyond(park, Now)); // retry 1 minute ahead
        Assert.False(deferred.WaitsBeyond(park, Now + TimeSpan.FromSeconds(45)));
        deferred.Apply(new MessageHeld(Now));
        Assert.False(deferred.WaitsBeyond(park, Now)); // a held message's entity stays until passivated

        // One recipient failed, one deferred: its NDR is to be queued first.
        var mixed = Accepted();
        Attempt(mixed, 1, Answer(Bob, RecipientStatus.Failed, "5.1.1"), Answer(Carol, RecipientStatus.Deferred, "4.2.1"));
        Assert.False(mixed.WaitsBeyond(park, Now));
        mixed.Apply(new BounceQueued(1, "Q-B1"));
        Assert.True(mixed.WaitsBeyond(park, Now));

        var done = Accepted();
        Attempt(done, 1, Answer(Bob, RecipientStatus.Delivered, "2.0.0"), Answer(Carol, RecipientStatus.Delivered, "2.0.0"));
        Assert.False(done.WaitsBeyond(park, Now));
    }

    [Fact]
    public void A_failed_recipient_needs_its_NDR_queued_before_the_message_completes()
    {
        var message = Accepted();
        var events = Attempt(message, 1, Answer(Bob, RecipientStatus.Delivered, "2.0.0"), Answer(Carol, RecipientStatus.Failed, "5.1.1"));

        Assert.False(Assert.IsType<AttemptRecorded>(Assert.Single(events)).Completes);
        Assert.Empty(message.Pending);
        Assert.Equal([1], message.BouncesToQueue);
        Assert.Null(message.Completion(Now));

        var ndr = message.Ndr(1);
        Assert.Equal(("Q-B1", "local", "alice@sender.example"), (ndr.QueueId, ndr.Tenant, ndr.Original.Sender));
        var failed = Assert.Single(ndr.Failed);
        Assert.Equal((Carol, "rfc822;carol@other.example", "5.1.1"), (failed.Address, failed.OriginalRecipient, failed.Status));
        Assert.Equal("The receiving mail servers refused it permanently.", ndr.Reason);

        message.Apply(new BounceQueued(1, ndr.QueueId));
        Assert.Empty(message.BouncesToQueue);
        var done = Assert.IsType<MessageCompleted>(message.Completion(Now)!.Value.Payload);
        Assert.Equal(RecipientStatus.Failed, done.Record!.Recipients.Single(r => r.Recipient == Carol).Status);
        message.Apply(done);
        Assert.Equal("done", message.State(false, false));
    }

    [Fact]
    public void No_NDR_where_NOTIFY_forbids_it_nor_about_an_NDR()
    {
        var never = Accepted(carolNotify: (int)DsnNotify.Never);
        var events = Attempt(never, 1, Answer(Bob, RecipientStatus.Delivered, "2.0.0"), Answer(Carol, RecipientStatus.Failed, "5.1.1"));
        Assert.IsType<MessageCompleted>(events[1]);

        var bounce = Accepted("N-B1", isBounce: true);
        events = Attempt(bounce, 1, Answer(Bob, RecipientStatus.Failed, "5.1.1"), Answer(Carol, RecipientStatus.Failed, "5.1.1"));
        Assert.IsType<MessageCompleted>(events[1]);
        Assert.Empty(bounce.BouncesToQueue);
    }

    [Fact]
    public void An_NDR_still_to_queue_from_an_earlier_attempt_keeps_the_message_from_completing()
    {
        var message = Accepted();
        Attempt(message, 1, Answer(Bob, RecipientStatus.Failed, "5.1.1"), Answer(Carol, RecipientStatus.Deferred, "4.2.1"));
        var second = Attempt(message, 2, Answer(Carol, RecipientStatus.Delivered, "2.0.0"));

        Assert.False(Assert.IsType<AttemptRecorded>(Assert.Single(second)).Completes);
        Assert.Null(message.Completion(Now));
        message.Apply(new BounceQueued(1, "Q-B1"));
        Assert.NotNull(message.Completion(Now));
    }

    [Fact]
    public void The_pool_wait_hold_and_release_change_what_it_does_not_what_it_has()
    {
        var message = Accepted();
        Assert.Equal("waiting for its pool", message.State(false, waitingForPool: true));
        message.Apply(new PoolWaitStarted(Now));
        Assert.True(message.PoolWaitRecorded);

        message.Apply(new MessageHeld(Now));
        Assert.True(message.Held);
        Assert.Equal("held", message.State(false, false));
        message.Apply(new MessageReleased(Now));
        Assert.False(message.Held);
        Assert.Equal("queued", message.State(false, false));
        Assert.Equal([Bob, Carol], message.Pending);
    }

    [Fact]
    public void The_operators_bounce_fails_every_pending_recipient_with_an_NDR()
    {
        var message = Accepted();
        Attempt(message, 1, Answer(Bob, RecipientStatus.Delivered, "2.0.0"), Answer(Carol, RecipientStatus.Deferred, "4.2.1"));
        var bounce = message.OperatorBounce();

        Assert.Equal(2, bounce.Attempt);
        var outcome = Assert.Single(Assert.Single(bounce.Results).Outcome.Recipients);
        Assert.Equal((Carol, RecipientStatus.Failed, "5.0.0"), (outcome.Recipient, outcome.Status, outcome.StatusCode));
        Attempt(message, bounce.Attempt, [.. bounce.Results]);
        Assert.Equal([2], message.BouncesToQueue);
    }

    [Fact]
    public void Past_its_lifetime_every_pending_recipient_expires_with_5_4_7_and_an_NDR_saying_so()
    {
        Assert.Null(Accepted().Expiry(Retry, Now + TimeSpan.FromDays(4)));
        var message = Accepted();
        var expired = message.Expiry(Retry, Now + TimeSpan.FromDays(5))!;

        Attempt(message, expired.Attempt, [.. expired.Results]);
        Assert.Empty(message.Pending);
        var ndr = message.Ndr(1);
        Assert.All(ndr.Failed, f => Assert.Equal("5.4.7", f.Status));
        Assert.Equal("It could not be delivered in time.", ndr.Reason);
    }

    [Fact]
    public void Deleted_it_has_no_events_it_is_unknown_and_nothing_is_decided()
    {
        var deleted = new MessageLifecycle("gone");
        Assert.False(deleted.Exists);
        Assert.Equal("unknown", deleted.State(false, false));
        Assert.Null(deleted.Completion(Now));
    }

    [Fact]
    public void A_record_takes_each_recipients_last_answer_that_was_not_a_deferral()
    {
        var message = Accepted();
        Attempt(message, 1, Answer(Bob, RecipientStatus.Delivered, "2.0.0"), Answer(Carol, RecipientStatus.Deferred, "4.2.1"));
        var record = DeliveryRecord.Of("Q", message.Envelope!, message.Body, message.History, Now);
        Assert.Equal([RecipientStatus.Delivered, RecipientStatus.Deferred], record.Recipients.Select(r => r.Status));
    }
}
