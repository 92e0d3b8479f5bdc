import Foundation
import KinoraModels
import XCTest

final class FlowSamplerKindTests: XCTestCase {
    func testFlowSamplerKindFollowsTheConfigurationsClassName() {
        XCTAssertEqual(FlowSamplerKind(className: "UniPCMultistepScheduler"), .unipc)
        XCTAssertEqual(FlowSamplerKind(className: "FlowMatchEulerDiscreteScheduler"), .euler)
        XCTAssertNil(FlowSamplerKind(className: "EulerDiscreteScheduler"))
        XCTAssertEqual(FlowSamplerKind.allCases.map(\.rawValue), ["unipc", "euler"])
    }

    func testFlowSamplerKindCarriesTheShiftAcrossClasses() throws {
        let (fixture, _) = try FlowSamplingFixture.load()
        let wan = try XCTUnwrap(fixture.configs["wan21_t2v_1_3b"])
        let euler = try XCTUnwrap(fixture.configs["flow_match_euler"])
        XCTAssertEqual(euler.shift, wan.flowShift)

        let unipcFromWan = try FlowSamplerKind.unipc.make(configuration: wan, steps: 20)
        let unipcFromEuler = try FlowSamplerKind.unipc.make(configuration: euler, steps: 20)
        XCTAssertTrue(unipcFromEuler is UniPCMultistepScheduler)
        XCTAssertEqual(unipcFromEuler.timesteps, unipcFromWan.timesteps)
        XCTAssertEqual(unipcFromEuler.sigmas, unipcFromWan.sigmas)

        let eulerFromEuler = try FlowSamplerKind.euler.make(configuration: euler, steps: 20)
        let eulerFromWan = try FlowSamplerKind.euler.make(configuration: wan, steps: 20)
        XCTAssertTrue(eulerFromWan is FlowMatchEulerDiscreteScheduler)
        XCTAssertEqual(eulerFromWan.sigmas, eulerFromEuler.sigmas)
        XCTAssertNotEqual(
            eulerFromWan.sigmas, try FlowMatchEulerDiscreteScheduler(configuration: .init(), steps: 20).sigmas)
    }
}
