/// Receives a render's progress events (the terminal renderer, the JSON-lines writer, or both).
public protocol ProgressSink: AnyObject {
    func receive(_ event: ProgressEvent)
}
