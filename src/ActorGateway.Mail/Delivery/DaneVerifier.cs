using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorGateway.Mail.Delivery;

/// <summary>The result of checking a server's certificate against TLSA records.</summary>
public sealed record DaneVerdict(bool Verified, string Detail);

/// <summary>
/// Checks a presented certificate chain against an MX host's TLSA records (RFC 7672 3.1),
/// instead of the system's trust store:
/// DANE-EE(3) matches the leaf alone, with no name and no expiry check (3.1.1);
/// DANE-TA(2) matches a certificate the server sent, which then anchors a chain to the leaf,
/// whose name must be the MX host or the recipient domain (3.1.2, 3.2.2).
/// Unusable records are left out; the caller decides what "none usable" means.
/// </summary>
public static class DaneVerifier
{
    public static DaneVerdict Verify(IEnumerable<TlsaAssociation> records, X509Certificate2 leaf, IReadOnlyList<X509Certificate2> presented,
        IReadOnlyList<string> names)
    {
        var usable = records.Where(r => r.IsUsable).ToList();
        if (usable.Count == 0) return new DaneVerdict(false, "no usable TLSA records");

        if (usable.Where(r => r.Usage == TlsaAssociation.DaneEe).FirstOrDefault(r => Matches(r, leaf)) is { } ee)
            return new DaneVerdict(true, $"DANE-EE matched ({ee.Selector} {ee.MatchingType})");

        var taRecords = usable.Where(r => r.Usage == TlsaAssociation.DaneTa).ToList();
        if (taRecords.Count == 0) return new DaneVerdict(false, "the server certificate matches no DANE-EE TLSA record");

        // The trust anchor must be among the certificates the server sent (RFC 7672 3.1.2), not the leaf itself.
        var anchors = presented.Where(c => !c.RawData.AsSpan().SequenceEqual(leaf.RawData) && taRecords.Any(r => Matches(r, c))).ToList();
        if (anchors.Count == 0) return new DaneVerdict(false, "no certificate in the server's chain matches a DANE-TA TLSA record");
        foreach (var anchor in anchors)
        {
            if (!ChainsTo(leaf, anchor, presented, out var problem))
            {
                if (anchor == anchors[^1]) return new DaneVerdict(false, $"the chain to the DANE-TA trust anchor does not verify: {problem}");
                continue;
            }
            var name = names.FirstOrDefault(n => leaf.MatchesHostname(n, allowWildcards: true, allowCommonName: true));
            return name is null
                ? new DaneVerdict(false, $"DANE-TA chain verified, but the certificate names none of {string.Join(", ", names)}")
                : new DaneVerdict(true, $"DANE-TA matched, name {name}");
        }
        return new DaneVerdict(false, "no DANE-TA trust anchor verified the chain");
    }

    /// <summary>Whether the record's data is this certificate's selected part, as is or hashed.</summary>
    public static bool Matches(TlsaAssociation record, X509Certificate2 certificate)
    {
        var selected = record.Selector == TlsaAssociation.FullCertificate
            ? certificate.RawData
            : certificate.PublicKey.ExportSubjectPublicKeyInfo();
        var data = record.MatchingType switch
        {
            TlsaAssociation.Exact => selected,
            TlsaAssociation.Sha256 => SHA256.HashData(selected),
            TlsaAssociation.Sha512 => SHA512.HashData(selected),
            _ => null,
        };
        return data is not null && CryptographicOperations.FixedTimeEquals(data, record.Data);
    }

    static bool ChainsTo(X509Certificate2 leaf, X509Certificate2 anchor, IReadOnlyList<X509Certificate2> presented, out string problem)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(anchor);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        foreach (var c in presented) chain.ChainPolicy.ExtraStore.Add(c);
        chain.Build(leaf);
        var elements = chain.ChainElements.Select(e => e.Certificate).ToList();
        var anchorIndex = elements.FindIndex(c => c.RawData.AsSpan().SequenceEqual(anchor.RawData));
        // An anchor that is not self-signed ends the chain early: only that (not a missing root) is forgiven.
        const X509ChainStatusFlags anchorEndsChain = X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.UntrustedRoot;
        var flags = chain.ChainElements.Take(anchorIndex < 0 ? elements.Count : anchorIndex + 1)
            .SelectMany(e => e.ChainElementStatus).Select(s => s.Status)
            .Aggregate(X509ChainStatusFlags.NoError, (a, b) => a | b) & ~anchorEndsChain;
        problem = anchorIndex < 0 ? "the anchor is not in the chain" : flags == X509ChainStatusFlags.NoError ? "" : flags.ToString();
        return anchorIndex >= 0 && flags == X509ChainStatusFlags.NoError;
    }
}
