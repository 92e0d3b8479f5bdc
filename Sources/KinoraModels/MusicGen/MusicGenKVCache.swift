import KinoraGPU
import KinoraTensor

/// What the MusicGen decoder keeps on the device through one generation: per layer, the self-attention keys and
/// values of every position fed so far, in tensors sized for the whole run and filled in place one step at a time
/// (`Graph.write`), and the cross-attention keys and values of the text, computed once. Keys and values are stored in
/// the activation type of the passes over the cache, as transformers keeps `past_key_values` in the model's dtype.
public final class MusicGenKVCache {
    /// Per layer: [B, capacity, hidden], valid up to `filled`.
    let keys: [Tensor]
    let values: [Tensor]
    /// Per layer: [B, text length, hidden].
    let textKeys: [Tensor]
    let textValues: [Tensor]
    /// The additive text mask [B, 1, 1, text length] (0 or −∞: the padding, and all of the unconditional rows).
    let textMask: Tensor
    /// Positions the cache has room for.
    public let capacity: Int
    /// The activation type of the passes over the cache (`MusicGenDecoder.activationType`), which its keys and values
    /// are stored in.
    public let activations: DType
    /// Positions fed so far: the next position's index.
    public internal(set) var filled = 0

    init(
        keys: [Tensor], values: [Tensor], textKeys: [Tensor], textValues: [Tensor], textMask: Tensor, capacity: Int,
        activations: DType
    ) {
        self.keys = keys
        self.values = values
        self.textKeys = textKeys
        self.textValues = textValues
        self.textMask = textMask
        self.capacity = capacity
        self.activations = activations
    }

    /// The tensors as inputs of `graph`.
    func values(in graph: Graph) -> MusicGenDecoder.CacheValues {
        MusicGenDecoder.CacheValues(
            keys: keys.map(graph.input), values: values.map(graph.input), textKeys: textKeys.map(graph.input),
            textValues: textValues.map(graph.input), textMask: graph.input(textMask))
    }

    /// Device bytes the cache holds.
    public var bytes: Int { (keys + values + textKeys + textValues + [textMask]).reduce(0) { $0 + $1.byteCount } }
}
