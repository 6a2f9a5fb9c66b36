namespace ActorGateway.Mail.Delivery;

/// <summary>
/// The answer for recipients whose delivery a TLS requirement stopped before anything was sent.
/// A static rule's failure is RFC 3463/5248 X.7.10 (encryption needed), held or rejected as the
/// rule says; an MTA-STS policy's is 4.7.5 (a security failure; the mail waits, RFC 8461 5).
/// </summary>
public static class TlsPolicyRefusal
{
    public static DeliveryOutcome NoTls(DeliveryJob job, TlsRequirement requirement, string error) =>
        Refuse(job, requirement, requirement.Source == TlsPolicySource.MtaSts ? "7.5" : "7.10", $"TLS could not be established: {error}");

    public static DeliveryOutcome NoAllowedMx(DeliveryJob job, TlsRequirement requirement, IReadOnlyList<NextHop> hops) =>
        Refuse(job, requirement, "7.5",
            $"policy {requirement.Rule} allows none of the MX hosts ({string.Join(", ", hops.Select(h => h.Host))})");

    static DeliveryOutcome Refuse(DeliveryJob job, TlsRequirement requirement, string detail, string text) =>
        (requirement.OnFailure == TlsFailureAction.Hold
            ? DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4." + detail, $"x-gateway; {text}")
            : DeliveryOutcome.All(job.Recipients, RecipientStatus.Failed, "5." + detail, $"x-gateway; {text}"))
        with { Policy = requirement.Source };
}
