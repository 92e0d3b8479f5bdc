/// Why a PyTorch checkpoint (`.pt`, `.pth`, `.ckpt`, `.bin`, `.pkl` from `torch.save`) could not be read. Every case
/// names the file and where in it the problem is: the zip entry, the pickle record and its byte, or the storage.
public enum PyTorchError: Error, Equatable, CustomStringConvertible {
    /// Neither a zip checkpoint nor a legacy pickle one.
    case notACheckpoint(file: String, reason: String)
    /// The zip container is damaged or uses what `torch.save` never writes.
    case archive(file: String, entry: String?, reason: String)
    /// The pickle at `record` is damaged or asks for something that is refused (a global not on the allow-list).
    case pickle(file: String, record: String, offset: Int?, reason: String)
    /// A storage named by the pickle is missing or of the wrong size.
    case storage(file: String, key: String, reason: String)
    /// Two tensors would get the same dotted name.
    case duplicateName(file: String, name: String)

    public var description: String {
        switch self {
        case .notACheckpoint(let file, let reason):
            return "\(file): not a PyTorch checkpoint (\(reason))"
        case .archive(let file, let entry, let reason):
            return "\(file): the checkpoint's zip archive is not valid"
                + (entry.map { " at entry '\($0)'" } ?? "") + " (\(reason))"
        case .pickle(let file, let record, let offset, let reason):
            return "\(file): \(record)" + (offset.map { " byte \($0)" } ?? "") + ": \(reason)"
        case .storage(let file, let key, let reason):
            return "\(file): storage '\(key)': \(reason)"
        case .duplicateName(let file, let name):
            return "\(file): two tensors are both named '\(name)'"
        }
    }
}
