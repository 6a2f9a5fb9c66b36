using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace ActorGateway.Smtp.Hosting;

/// <summary>
/// Runs SMTP sessions on the sockets' event-loop threads, the way an event-driven MTA does.
/// By default .NET hands every socket event to the thread pool, and Kestrel hops again for
/// the application and for each send: about 30 context switches per SMTP session on two
/// cores, which cost more CPU than the protocol itself (tests/bench/RESULTS.md). With inline
/// completions and inline scheduling the session code runs on the thread that saw the event.
/// That is safe when nothing in a session blocks or computes for long, as with the
/// stand-alone host and its benchmark. The gateway node does not use it: its hooks scan and
/// DKIM-sign, CPU work that would hold up every other connection on the same event loop, and
/// in the gateway benchmark the mode measured no gain.
/// </summary>
public static class SocketEventLoop
{
    const string InlineVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    const string ThreadsVariable = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>
    /// Turns inline completions on for this process, with one event-loop thread per two cores,
    /// unless the environment already says otherwise. .NET reads both settings once, when the
    /// first socket is used, so this must run before that (first thing in Main).
    /// </summary>
    public static void UseInlineCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineVariable) is null)
            Environment.SetEnvironmentVariable(InlineVariable, "1");
        if (Environment.GetEnvironmentVariable(ThreadsVariable) is null)
            Environment.SetEnvironmentVariable(ThreadsVariable, Math.Max(1, Environment.ProcessorCount / 2).ToString());
    }

    /// <summary>Whether socket completions run inline in this process.</summary>
    public static bool InlineCompletions => Environment.GetEnvironmentVariable(InlineVariable) == "1";

    /// <summary>
    /// Kestrel's side: with inline completions, let the connection's pipes run their readers
    /// and writers inline too, instead of queueing them to the thread pool.
    /// </summary>
    public static void Configure(SocketTransportOptions options)
    {
        if (InlineCompletions) options.UnsafePreferInlineScheduling = true;
    }
}
