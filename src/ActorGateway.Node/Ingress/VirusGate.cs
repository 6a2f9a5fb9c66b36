using ActorGateway.Mail.Bounce;
using ActorGateway.Mail.Scanning;
using ActorGateway.Node.Configuration;
using ActorGateway.Node.Pipeline;
using ActorGateway.Smtp.Protocol;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Ingress;

/// <summary>
/// Every message is scanned before it is accepted. A virus gets 554 5.7.1 with the signature
/// name, and the sender an NDR naming the infected part (with the headers only: the virus
/// itself is never sent anywhere). A scanner that cannot answer never lets mail pass: the
/// configured answer is 451 (retry later) or 554.
/// </summary>
public sealed class VirusGate(IVirusScanner scanner, ScannerFailureAction onFailure, GatewayMail mail, ILogger log)
{
    public static readonly SmtpReply ScannerUnavailable = new(451, "4.7.0", "Virus scanner unavailable, try again later");
    public static readonly SmtpReply ScannerUnavailableReject = new(554, "5.7.0", "Message could not be scanned for viruses");

    /// <summary>Null when the message is clean; else the reply that refuses it.</summary>
    public async Task<SmtpReply?> CheckAsync(string queueId, MessageEnvelope envelope, ScannedMessage message, CancellationToken ct)
    {
        var bytes = message.Bytes;
        var verdict = await scanner.ScanAsync(message, ct);
        switch (verdict.Status)
        {
            case VirusStatus.Clean:
                log.LogInformation("{QueueId}: scanned clean by {Scanner}", queueId, scanner.Name);
                return null;
            case VirusStatus.ScannerFailed:
                log.LogError("{QueueId}: virus scanner {Scanner} failed: {Error}; answering {Action}", queueId, scanner.Name, verdict.Error, onFailure);
                return onFailure == ScannerFailureAction.Tempfail ? ScannerUnavailable : ScannerUnavailableReject;
        }

        log.LogWarning("{QueueId}: tenant={Tenant} from=<{Sender}> virus {Signature} in {Part}: rejected",
            queueId, envelope.Tenant, envelope.Sender, verdict.Signature, verdict.Part);
        await NotifySenderAsync(queueId, envelope, bytes, verdict);
        return new SmtpReply(554, "5.7.1", $"Message rejected: virus {verdict.Signature} found in {verdict.Part}");
    }

    async Task NotifySenderAsync(string queueId, MessageEnvelope envelope, byte[] bytes, VirusVerdict verdict)
    {
        if (envelope.Sender.Length == 0) return;
        var diagnostic = $"x-gateway; virus {verdict.Signature} found in {verdict.Part}";
        var failure = await mail.QueueNdrAsync(new NdrRequest($"{queueId}-V", envelope.Tenant,
            new BouncedMessage(queueId, envelope.Sender, envelope.EnvelopeId, ReturnHeadersOnly: true, envelope.ReceivedAt, bytes),
            envelope.Recipients.Select(r => new FailedRecipient(r.Address, r.OriginalRecipient, "5.7.1", diagnostic, null, DateTimeOffset.UtcNow)).ToArray(),
            $"It contained a virus ({verdict.Signature} in {verdict.Part}) and was rejected; it was not delivered to anyone."));
        if (failure is null) log.LogInformation("{QueueId}: virus notice to <{Sender}> queued as {QueueId}-V", queueId, envelope.Sender, queueId);
        else log.LogError("{QueueId}: virus notice to <{Sender}> not queued: {Error}", queueId, envelope.Sender, failure);
    }
}
