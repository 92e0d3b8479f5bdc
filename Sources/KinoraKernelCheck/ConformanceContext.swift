import KinoraGPU
import KinoraReference
import KinoraTensor

/// What a conformance case records with: fresh graphs on one arena, and seeded random inputs.
public final class ConformanceContext {
    public let arena: ActivationArena
    public var random: SeededRandom
    /// The activation storage type of every graph `graph(matmul:convolution:)` makes.
    public let activations: DType

    public init(arena: ActivationArena, seed: UInt64, activations: DType = .f32) {
        self.arena = arena
        random = SeededRandom(seed: seed)
        self.activations = activations
    }

    public var device: GPUDevice { arena.device }
    /// How the graphs `graph(matmul:convolution:attention:)` makes lay out the rows of normalisations and softmax.
    public var reduction = ReductionStrategy.automatic

    /// A graph whose matmuls, convolutions and attention take the given kernels, storing activations as
    /// `activations`.
    public func graph(matmul: MatmulStrategy = .automatic, convolution: ConvolutionStrategy = .automatic,
                      attention: AttentionStrategy = .automatic) -> Graph {
        let graph = Graph(arena: arena)
        graph.activationDType = activations
        graph.matmulStrategy = matmul
        graph.convolutionStrategy = convolution
        graph.attentionStrategy = attention
        graph.reductionStrategy = reduction
        return graph
    }

    /// `count` uniform values in [-scale, scale).
    public func values(_ count: Int, scale: Float = 1) -> [Float] {
        random.values(count, scale: scale)
    }

    /// `count` uniform values in [-scale, scale) rounded to `dtype`, so the reference sees what the kernel reads.
    public func values(_ count: Int, scale: Float = 1, roundedTo dtype: DType) -> [Float] {
        random.values(count, scale: scale).map { HostConversionMirror.rounded($0, to: dtype) }
    }
}
