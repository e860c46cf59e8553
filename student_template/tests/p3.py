from otter.test_files import test_case

OK_FORMAT = False

name = "p3"
points = 4

@test_case(points=None, hidden=False)
def test_p3(p3_output, student_id):
    from hw5kit import public
    public.check_p3(p3_output, student_id)

