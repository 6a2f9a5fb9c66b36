using System.Net;

namespace ActorGateway.Mail.Delivery;

/// <summary>
/// One server to try for a destination: its name (for TLS), port and addresses, and what DANE
/// demands of it (null: DANE does not apply).
/// </summary>
public sealed record NextHop(string Host, int Port, IReadOnlyList<IPAddress> Addresses, int Preference, DanePolicy? Dane = null);

public enum ResolutionKind { Resolved, NoMailServer, TemporaryFailure }

/// <summary>The servers for a recipient domain, in the order to try them, or why there are none.</summary>
public sealed record NextHopResolution(ResolutionKind Kind, IReadOnlyList<NextHop> Hops, string Detail)
{
    public static NextHopResolution Permanent(string detail) => new(ResolutionKind.NoMailServer, [], detail);
    public static NextHopResolution Temporary(string detail) => new(ResolutionKind.TemporaryFailure, [], detail);
}
