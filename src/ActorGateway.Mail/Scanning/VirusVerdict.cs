namespace ActorGateway.Mail.Scanning;

public enum VirusStatus { Clean, Infected, ScannerFailed }

/// <summary>A virus scanner's answer: clean, infected (which signature, in which part), or no answer.</summary>
public sealed record VirusVerdict(VirusStatus Status, string? Signature = null, string? Part = null, string? Error = null)
{
    public static VirusVerdict Clean { get; } = new(VirusStatus.Clean);
    public static VirusVerdict Infected(string signature, string part) => new(VirusStatus.Infected, signature, part);
    public static VirusVerdict Failed(string error) => new(VirusStatus.ScannerFailed, Error: error);
}

/// <summary>Scans one message as received (all of it, its MIME parts and decoded attachments).</summary>
public interface IVirusScanner
{
    string Name { get; }
    Task<VirusVerdict> ScanAsync(ScannedMessage message, CancellationToken ct);
}
