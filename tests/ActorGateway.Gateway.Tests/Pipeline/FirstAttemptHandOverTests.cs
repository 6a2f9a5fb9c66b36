using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Pipeline;
using Akka.Actor;

namespace ActorGateway.Gateway.Tests.Pipeline;

/// <summary>
/// When the intake made a message's first attempt but could not journal its answers, it hands
/// them to the message's entity (RecordFirstAttempt). The entity records them once, so that a
/// delivery the receiver confirmed is not repeated, and not at all if it has moved on itself.
/// One class (MessageActor) on the real journal; no cluster, no delivery.
/// </summary>
[Collection(JournalCollection.Name)]
public sealed class FirstAttemptHandOverTests : JournalTestKit
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    readonly Akka.TestKit.TestProbe _intake;
    readonly MessageServices _services;

    public FirstAttemptHandOverTests() : base("hand-over-test")
    {
        // The intake stores every NDR it is handed.
        _intake = CreateTestProbe();
        _intake.SetAutoPilot(new Akka.TestKit.DelegateAutoPilot((sender, message) =>
        {
            if (message is AcceptMessage a) sender.Tell(new MessageStored(a.QueueId));
            return Akka.TestKit.AutoPilot.KeepRunning;
        }));
        // Nothing here may deliver: no pool routers, and the next attempt is an hour away.
        _services = new(new Dictionary<string, IActorRef>(), new GatewayMail(() => _intake.Ref, "gw.test"), RetrySchedule.Default,
            new ActorGateway.Node.Delivery.DeliveryTimeouts(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)), TlsPolicy.None, TimeSpan.FromSeconds(1));
    }

    static readonly string[] Recipients = ["bob@rcpt.example", "carol@rcpt.example"];

    void Accepted(string queueId) => JournalAccepted(queueId, "akka.tcp://actorgateway@127.0.0.1:1#1", Recipients);

    /// <summary>The first attempt's answers: one recipient delivered, one deferred for an hour.</summary>
    static AttemptRecorded FirstAttempt() => new(1, DateTimeOffset.UtcNow,
        [
            new RecipientResult("bob@rcpt.example", RecipientStatus.Delivered, "2.0.0", "smtp; 250 2.0.0 Ok", "mx.rcpt.example"),
            new RecipientResult("carol@rcpt.example", RecipientStatus.Deferred, "4.2.1", "smtp; 421 4.2.1 try later", "mx.rcpt.example"),
        ],
        "mx.rcpt.example", null, DateTimeOffset.UtcNow.AddHours(1));

    Task<MessageDetails> DetailsAsync(IActorRef entity, string queueId) => entity.Ask<MessageDetails>(new GetMessageDetails(queueId), Timeout);

    [Fact]
    public async Task The_entity_records_the_intakes_first_attempt_once_and_keeps_it_across_a_restart()
    {
        Accepted("Q1");
        var entity = Sys.ActorOf(MessageActor.Props("Q1", _services));
        Assert.Equal("queued", (await DetailsAsync(entity, "Q1")).State);

        entity.Tell(new RecordFirstAttempt("Q1", FirstAttempt()));
        entity.Tell(new RecordFirstAttempt("Q1", FirstAttempt())); // handed over twice: recorded once
        var details = await DetailsAsync(entity, "Q1");
        Assert.Equal("deferred", details.State);
        Assert.Equal(1, Assert.Single(details.Attempts).Attempt);
        Assert.Equal(["carol@rcpt.example"], details.Pending); // bob's delivery is not repeated

        // From the journal, on a fresh entity: the same.
        await entity.GracefulStop(Timeout);
        var again = Sys.ActorOf(MessageActor.Props("Q1", _services));
        var recovered = await DetailsAsync(again, "Q1");
        Assert.Equal("deferred", recovered.State);
        Assert.Equal(1, Assert.Single(recovered.Attempts).Attempt);
        Assert.Equal(["carol@rcpt.example"], recovered.Pending);
    }

    [Fact]
    public async Task Answers_handed_over_after_the_operator_bounced_the_message_are_not_recorded()
    {
        Accepted("Q2");
        var entity = Sys.ActorOf(MessageActor.Props("Q2", _services));
        var bounce = await entity.Ask<ControlResult>(new ControlMessage("Q2", QueueAction.Bounce), Timeout);
        Assert.True(bounce.Done, bounce.Text);
        var ndr = _intake.ExpectMsg<AcceptMessage>(Timeout);
        Assert.Equal("Q2-B1", ndr.QueueId);
        await AwaitAssertAsync(async () => Assert.Equal("done", (await DetailsAsync(entity, "Q2")).State), Timeout);

        entity.Tell(new RecordFirstAttempt("Q2", FirstAttempt()));
        var attempt = Assert.Single((await DetailsAsync(entity, "Q2")).Attempts);
        Assert.All(attempt.Results, r => Assert.Equal(RecipientStatus.Failed, r.Status)); // the operator's bounce, not bob's delivery
    }
}
