using ActorGateway.Mail.Scanning;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>clamd's INSTREAM answers: OK, FOUND, and every kind of ERROR (never read as clean).</summary>
public sealed class ClamdAnswerTests
{
    [Theory]
    [InlineData("stream: OK", VirusStatus.Clean, null)]
    [InlineData("stream: Eicar-Test-Signature.UNOFFICIAL FOUND", VirusStatus.Infected, "Eicar-Test-Signature.UNOFFICIAL")]
    [InlineData("INSTREAM size limit exceeded. ERROR", VirusStatus.ScannerFailed, null)]
    [InlineData("stream: Can't allocate memory ERROR", VirusStatus.ScannerFailed, null)]
    [InlineData("", VirusStatus.ScannerFailed, null)]
    public void Answers_are_read_strictly(string answer, VirusStatus status, string? signature)
    {
        var v = ClamdScanner.Parse(answer, "part");
        Assert.Equal(status, v.Status);
        Assert.Equal(signature, v.Signature);
    }
}
