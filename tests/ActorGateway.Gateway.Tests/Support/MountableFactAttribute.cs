using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>A test that needs a small filesystem of its own (tmpfs): skipped only where mounting is not allowed.</summary>
public sealed class MountableFactAttribute : FactAttribute
{
    public MountableFactAttribute()
    {
        if (!SmallFilesystem.CanMount) Skip = $"this machine cannot mount a tmpfs (needs root): {SmallFilesystem.WhyNot}";
    }
}
