namespace ActorGateway.Gateway.Tests.Cluster;

/// <summary>
/// The three-node tests run alone, one after the other: three nodes on two cores next to other
/// tests would stall heartbeats and make the failure detector see deaths that did not happen.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "three-node cluster";
}
