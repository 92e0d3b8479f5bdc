/// One unit of work in a render: a kind, the model it runs (nil on the host), the settings its result depends on
/// and the stages whose results it consumes.
public struct Stage: Sendable, Hashable, Identifiable {
    /// Unique in the graph, such as `shot-1/denoise`.
    public var id: String
    public var kind: StageKind
    /// The `ModelIdentity.key` of the model it runs; nil for host stages.
    public var model: String?
    public var parameters: StageParameters
    /// Ids of the stages it consumes, in the order it consumes them.
    public var inputs: [String]
    /// The seed, for stages that draw random numbers.
    public var seed: UInt64?
    /// Units of progress (sampler steps, frames); 1 for stages that report none.
    public var steps: Int
    /// What a unit of `steps` is.
    public var unit: StepUnit
    /// The workflow items the stage works for (`shots[0]`, `voices[1]`); several when identical work was shared.
    public var owners: [String]
    /// Stages of one model with the same signature can run as one batch; nil: never batched.
    public var batchSignature: String?

    public init(id: String, kind: StageKind, model: String? = nil, parameters: StageParameters = StageParameters(),
                inputs: [String] = [], seed: UInt64? = nil, steps: Int = 1, unit: StepUnit = .step,
                owners: [String] = [], batchSignature: String? = nil) {
        self.id = id
        self.kind = kind
        self.model = model
        self.parameters = parameters
        self.inputs = inputs
        self.seed = seed
        self.steps = steps
        self.unit = unit
        self.owners = owners
        self.batchSignature = batchSignature
    }
}
