namespace ActorGateway.Smtp.Protocol;

/// <summary>
/// A CR or LF that is not part of a CRLF pair. RFC 5321 2.3.8 allows CR and LF in mail only
/// as CRLF; a receiver that takes a bare one for a line end can be made to see a different
/// end of data than the sender meant (SMTP smuggling).
/// </summary>
public enum BareLineEnding { None, Cr, Lf }
