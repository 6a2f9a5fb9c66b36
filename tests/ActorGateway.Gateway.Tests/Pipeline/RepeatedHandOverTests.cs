using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Retention;
using Akka.Actor;

namespace ActorGateway.Gateway.Tests.Pipeline;

/// <summary>
/// An NDR has a fixed queue id (its message's id and attempt). If the node dies after the NDR
/// was stored but before its message recorded that, the message hands the NDR over again: the
/// intake must answer "stored" (not fail for ever on the existing id), and must not store and
/// send it a second time when it was delivered and deleted meanwhile. MessageIntake on the real
/// journal and record store; the shard region is a probe.
/// </summary>
[Collection(JournalCollection.Name)]
public sealed class RepeatedHandOverTests() : JournalTestKit("hand-over-again", "akka.actor.provider = cluster")
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    (IActorRef Intake, Akka.TestKit.TestProbe Region, DeliveryRecordStore Records) Start()
    {
        // The journal's tables exist once it has written (completing a record deletes from them).
        Journal(Sys, "other", 1, new MessageAccepted("other", Ndr("other").Envelope, Ndr("other").Body), QueueTags.Queued);
        var records = new DeliveryRecordStore(Settings);
        records.CreateTablesAsync().GetAwaiter().GetResult();
        var region = CreateTestProbe();
        // No pool routers: a message stored anew here would fail its first attempt, so the tests see any write.
        var services = new MessageServices(new Dictionary<string, IActorRef>(), new GatewayMail(() => ActorRefs.Nobody, "gw.test"), RetrySchedule.Default,
            new ActorGateway.Node.Delivery.DeliveryTimeouts(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)), TlsPolicy.None, TimeSpan.FromSeconds(1), records);
        return (Sys.ActorOf(MessageIntake.Props(() => region.Ref, services)), region, records);
    }

    static AcceptMessage Ndr(string id) =>
        new(id, MessageEnvelope.BounceTo("local", "alice@sender.example"), "Subject: Undelivered Mail\r\n\r\nsorry\r\n"u8.ToArray());

    [Fact]
    public async Task An_NDR_already_in_the_journal_is_answered_stored_and_handed_to_its_entity()
    {
        var (intake, region, _) = Start();
        Journal(Sys, "M1-B1", 1, new MessageAccepted("M1-B1", Ndr("M1-B1").Envelope, Ndr("M1-B1").Body), QueueTags.Queued);

        var answer = await intake.Ask<object>(Ndr("M1-B1"), Timeout);
        Assert.IsType<MessageStored>(answer);
        Assert.Equal("M1-B1", region.ExpectMsg<WakeMessage>(Timeout).QueueId);
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM journal WHERE persistence_id = 'msg-M1-B1'"));
    }

    [Fact]
    public async Task An_NDR_delivered_and_deleted_already_is_answered_stored_and_not_stored_again()
    {
        var (intake, region, records) = Start();
        var record = DeliveryRecord.Of("M2-B1", Ndr("M2-B1").Envelope, Ndr("M2-B1").Body, [], DateTimeOffset.UtcNow);
        await records.CompleteAsync([(MessageActor.PersistenceIdOf("M2-B1"), record)]);

        Assert.IsType<MessageStored>(await intake.Ask<object>(Ndr("M2-B1"), Timeout));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM journal WHERE persistence_id = 'msg-M2-B1'"));
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }
}
