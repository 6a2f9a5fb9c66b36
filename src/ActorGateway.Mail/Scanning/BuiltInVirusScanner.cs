namespace ActorGateway.Mail.Scanning;

/// <summary>The embedded default: ClamAV's hash and pattern signatures over every decoded part, in process.</summary>
public sealed class BuiltInVirusScanner(ClamAvSignatures signatures) : IVirusScanner
{
    public string Name => "builtin";

    public Task<VirusVerdict> ScanAsync(ScannedMessage message, CancellationToken ct)
    {
        foreach (var (part, content) in MessageParts.Enumerate(message))
        {
            ct.ThrowIfCancellationRequested();
            if (signatures.Match(content) is { } name) return Task.FromResult(VirusVerdict.Infected(name, part));
        }
        return Task.FromResult(VirusVerdict.Clean);
    }
}
