namespace ActorGateway.Smtp.Hooks;

/// <summary>The three hooks through which the gateway plugs its policy into the protocol.</summary>
public sealed record SmtpHooks(ISmtpAuthenticator Authenticator, IEnvelopeFilter EnvelopeFilter, IMessageStore Store);
